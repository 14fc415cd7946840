/**
 * A small, strict XML reader for the little XML Tuban reads whole (GDAL's `.aux.xml` sidecars):
 * elements, attributes, text, the five named entities and character references; comments,
 * processing instructions, CDATA and a DOCTYPE without an internal subset are passed over. Anything
 * else not well-formed is an XmlSyntaxError giving its line. No namespaces (names as written), no DTD.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (its text and CDATA, entities decoded), without its children's. */
  text: string;
  /** 1-based line of the start tag, for messages. */
  line: number;
}

export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
}

const NAME = '[A-Za-z_:][-\\w.:]*';
const START = new RegExp(`<(${NAME})`, 'y');
const ATTR = new RegExp(`\\s+(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'y');
const START_END = /\s*(\/?)>/y;
const CLOSE = new RegExp(`</(${NAME})\\s*>`, 'y');
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The document's root element. */
export function parseXml(src: string): XmlElement {
  let i = src.charCodeAt(0) === 0xfeff ? 1 : 0;
  // Lines counted once, forward: positions only grow.
  let line = 1;
  let counted = 0;
  const lineAt = (pos: number): number => {
    for (; counted < pos; counted++) if (src.charCodeAt(counted) === 10) line++;
    return line;
  };
  const fail = (message: string, pos: number): never => {
    throw new XmlSyntaxError(`${message} (line ${lineAt(pos)})`);
  };
  const decode = (raw: string, pos: number): string => {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;]*);?/g, (whole: string, ref: string, at: number) => {
      const bad = () => fail(`'${whole.slice(0, 12)}' is not an entity reference (a bare & is written &amp;)`, pos + at);
      if (!whole.endsWith(';')) return bad();
      if (ref in NAMED) return NAMED[ref];
      const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(ref);
      if (!m) return bad();
      const code = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return bad();
      return String.fromCodePoint(code);
    });
  };

  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt === -1 ? src.length : lt;
    if (textEnd > i) {
      const raw = src.slice(i, textEnd);
      if (stack.length) stack[stack.length - 1].text += decode(raw, i);
      else if (raw.trim()) fail(`text outside the ${root ? 'root element' : 'root element (is this XML?)'}`, i + raw.search(/\S/));
      i = textEnd;
      continue;
    }
    const skipTo = (open: string, close: string): void => {
      const end = src.indexOf(close, i + open.length);
      if (end < 0) fail(`${open} is never closed with ${close}`, i);
      i = end + close.length;
    };
    if (src.startsWith('<!--', i)) {
      skipTo('<!--', '-->');
    } else if (src.startsWith('<?', i)) {
      skipTo('<?', '?>');
    } else if (src.startsWith('<![CDATA[', i)) {
      if (!stack.length) fail('CDATA outside the root element', i);
      const end = src.indexOf(']]>', i + 9);
      if (end < 0) fail('<![CDATA[ is never closed with ]]>', i);
      stack[stack.length - 1].text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith('<!DOCTYPE', i)) {
      if (root || stack.length) fail('a DOCTYPE after the root element began', i);
      const end = src.indexOf('>', i);
      if (end < 0 || src.slice(i, end).includes('[')) fail('a DOCTYPE with an internal subset (not read)', i);
      i = end + 1;
    } else if (src.startsWith('</', i)) {
      CLOSE.lastIndex = i;
      const m = CLOSE.exec(src);
      if (!m) fail('a malformed end tag', i);
      const open = stack.pop();
      if (!open) fail(`</${m![1]}> closes nothing`, i);
      if (open!.name !== m![1]) fail(`</${m![1]}> closes <${open!.name}> of line ${open!.line}`, i);
      i = CLOSE.lastIndex;
    } else {
      START.lastIndex = i;
      const m = START.exec(src);
      if (!m) fail(`'<' that starts no tag (a bare < is written &lt;)`, i);
      if (root && !stack.length) fail(`a second root element <${m![1]}>`, i);
      const el: XmlElement = { name: m![1], attrs: {}, children: [], text: '', line: lineAt(i) };
      let at = START.lastIndex;
      for (;;) {
        ATTR.lastIndex = at;
        const a = ATTR.exec(src);
        if (!a) break;
        if (a[1] in el.attrs) fail(`<${el.name}> has attribute ${a[1]} twice`, at);
        el.attrs[a[1]] = decode(a[2] ?? a[3], at);
        at = ATTR.lastIndex;
      }
      START_END.lastIndex = at;
      const end = START_END.exec(src);
      if (!end) fail(`<${el.name}>: a malformed attribute or unclosed start tag`, at);
      i = START_END.lastIndex;
      if (stack.length) stack[stack.length - 1].children.push(el);
      else root = el;
      if (end![1] !== '/') stack.push(el);
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1].name}> of line ${stack[stack.length - 1].line} is never closed`, src.length);
  if (!root) fail('no root element (empty file?)', src.length);
  return root!;
}
