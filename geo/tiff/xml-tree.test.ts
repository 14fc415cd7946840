import { describe, expect, it } from 'vitest';
import { parseXml } from './xml-tree.js';

describe('parseXml', () => {
  it('reads elements, attributes, text, entities, CDATA, and passes over the prolog and comments', () => {
    const root = parseXml(`\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE PAMDataset>\n<!-- a <comment> -->\n<A x='1 &amp; 2' y="&#x3C;b&#62;">\n  <B/>\n  <C k="v">-1&#46;5e&#x2B;3<![CDATA[ <raw & text> ]]></C>\n</A>\n<!-- after -->\n`);
    expect(root.name).toBe('A');
    expect(root.attrs).toEqual({ x: '1 & 2', y: '<b>' });
    expect(root.children.map((c) => [c.name, c.line, c.attrs, c.text])).toEqual([
      ['B', 5, {}, ''],
      ['C', 6, { k: 'v' }, '-1.5e+3 <raw & text> '],
    ]);
  });

  it('refuses what is not well-formed, with the line', () => {
    const cases: [string, string][] = [
      ['<A><B></A>', '</A> closes <B> of line 1 (line 1)'],
      ['<A>\n<B>\n', '<B> of line 2 is never closed (line 3)'],
      ['<A/>\n<B/>', 'a second root element <B> (line 2)'],
      ['junk', 'text outside the root element (is this XML?) (line 1)'],
      ['<A>\n</A>\ntrailing', 'text outside the root element (line 3)'],
      ['<A b="1" b="2"/>', '<A> has attribute b twice (line 1)'],
      ['<A b=1/>', '<A>: a malformed attribute or unclosed start tag (line 1)'],
      ['<A>&nbsp;</A>', "'&nbsp;' is not an entity reference (a bare & is written &amp;) (line 1)"],
      ['<A>&#0;</A>', "'&#0;' is not an entity reference (a bare & is written &amp;) (line 1)"],
      ['<A>1 < 2</A>', "'<' that starts no tag (a bare < is written &lt;) (line 1)"],
      ['<A><!-- open</A>', '<!-- is never closed with --> (line 1)'],
      ['<!DOCTYPE A [<!ENTITY e "x">]><A/>', 'a DOCTYPE with an internal subset (not read) (line 1)'],
      ['', 'no root element (empty file?) (line 1)'],
    ];
    for (const [xml, message] of cases) expect(() => parseXml(xml), xml).toThrow(message);
  });
});
