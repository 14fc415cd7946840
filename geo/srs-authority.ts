/**
 * What a GDAL SRS text (a `.aux.xml` sidecar's `<SRS>`: WKT1 or WKT2 as GDAL writes it, or an
 * `EPSG:n` / `urn:ogc:def:crs:EPSG::n` string as GDAL also takes) says it is, read only where it
 * says so of itself: the EPSG code of its top-level AUTHORITY (WKT1) or ID (WKT2), and its top-level
 * axes. The codes inside it (the datum's, the base GEOGCS's, a unit's) name parts, not the whole, and
 * a text without a code of its own (ESRI WKT, a PROJ string, `unknown` from one) gets none here:
 * srs-equivalence.ts judges it by where it puts a grid, not by its parameters' names.
 */

export interface SrsAuthority {
  /** The EPSG code the text names itself by; null where it names none (or is not well-formed WKT). */
  epsg: number | null;
  /** The WKT's own name (`"WGS 84 / UTM zone 50N"`), for messages; null for a code string. */
  name: string | null;
  /** Its top-level AXIS directions in order, lower case (`['east', 'north']`); empty where it gives none. */
  axes: string[];
}

const CODE = /^(?:EPSG:{1,2}|urn:ogc:def:crs:EPSG:[^:]*:)(\d+)$/i;
const KEYWORD = /^([A-Za-z_][A-Za-z0-9_]*)\s*[[(]/;

export function readSrsAuthority(text: string): SrsAuthority {
  const s = text.trim();
  const code = CODE.exec(s);
  if (code) return { epsg: Number(code[1]), name: null, axes: [] };
  const children = topLevelChildren(s);
  if (!children) return { epsg: null, name: null, axes: [] };
  let epsg: number | null = null;
  const axes: string[] = [];
  for (const c of children) {
    const auth = /^(?:AUTHORITY|ID)\s*[[(]\s*"([^"]*)"\s*,\s*"?\s*(\d+)\s*"?\s*[,\])]/i.exec(c);
    if (auth && auth[1].toUpperCase() === 'EPSG') epsg = Number(auth[2]);
    const axis = /^AXIS\s*[[(]\s*"(?:[^"]|"")*"\s*,\s*([A-Za-z]+)/i.exec(c);
    if (axis) axes.push(axis[1].toLowerCase());
  }
  const name = /^"((?:[^"]|"")*)"$/.exec(children[0] ?? '')?.[1].replace(/""/g, '"') ?? null;
  return { epsg, name, axes };
}

/** The comma-separated children of the text's outermost WKT node, trimmed; null where it is no balanced WKT node. */
function topLevelChildren(s: string): string[] | null {
  const kw = KEYWORD.exec(s);
  if (!kw) return null;
  const children: string[] = [];
  let depth = 1;
  let start = kw[0].length;
  let quoted = false;
  for (let i = start; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      // WKT doubles a quote inside a string: `""`.
      if (ch === '"') {
        if (s[i + 1] === '"') i++;
        else quoted = false;
      }
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') {
      depth--;
      if (depth === 0) {
        children.push(s.slice(start, i).trim());
        // Anything after the outermost node's end is not WKT GDAL would read as this one.
        return s.slice(i + 1).trim() === '' ? children : null;
      }
    } else if (ch === ',' && depth === 1) {
      children.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  return null;
}
