/**
 * The detector's reasons in Chinese, for the ledger's 发现依据说明: an official table a bureau files
 * and prints. The reasons are stored as the detector writes them (English, in polygons.geojson and
 * the database, where scripts read them); the ledger says the same in the table's language. A
 * reason of no known form (a clue's description, a later detector's new wording) is kept as it is.
 */
const FORMS: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^change probability (\S+) \(peak (\S+), cut (\S+)\)$/, (m) => `变化概率 ${m[1]}（峰值 ${m[2]}，阈值 ${m[3]}）`],
  [/^(\d+) m² at or above the cut$/, (m) => `达到阈值的面积 ${m[1]} 平方米`],
  [/^(strong|moderate) spectral change (\S+)×threshold$/, (m) => `光谱变化${m[1] === 'strong' ? '强' : '中等'}（峰值为阈值的 ${m[2]} 倍）`],
  [/^NDVI drop (\S+)$/, (m) => `NDVI 下降 ${m[1]}`],
  [/^area (\d+) m²$/, (m) => `面积 ${m[1]} 平方米`],
  [/^mixed change type \((\d+)% agree\)$/, (m) => `变化类型混杂（${m[1]}% 一致）`],
  [/^thin shape \(possible misregistration\)$/, () => '形状狭长（可能是影像配准偏差）'],
  [/^object model (\S+) \(shape, contrast, neighbourhood\)$/, (m) => `对象模型 ${m[1]}（形状、对比度、周边）`],
];

export function reasonInChinese(reason: string): string {
  for (const [form, say] of FORMS) {
    const m = reason.match(form);
    if (m) return say(m);
  }
  return reason;
}
