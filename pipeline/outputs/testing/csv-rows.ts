/**
 * RFC 4180 CSV (as the ledger exports write it: quoted cells may hold commas, quotes and line
 * breaks) into rows keyed by the header, for tests that read an export back.
 */
export function csvRows(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n' || (c === '\r' && s[i + 1] === '\n')) {
      if (c === '\r') i++;
      row.push(cell), records.push(row), (row = []), (cell = '');
    } else cell += c;
  }
  if (cell !== '' || row.length) row.push(cell), records.push(row);
  const [head, ...body] = records;
  return body.map((r) => Object.fromEntries(r.map((v, i) => [head[i], v])));
}
