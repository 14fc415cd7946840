/**
 * GDAL's PAM sidecar, `X.tif.aux.xml`: where GDAL keeps what it could not write into the file itself
 * (opened read-only: `gdal_edit.py -ro`, QGIS, Python's SetScale/SetOffset/SetNoDataValue/
 * SetDescription on a read-only share). Read here: per band Scale, Offset, NoDataValue, Description
 * ColorInterp and default-domain Metadata items, the dataset's Metadata items and GeoTransform. GDAL itself
 * passes over a sidecar it cannot parse and reads a garbled number as 0; here either is an error
 * naming the sidecar, since reading the file without what the sidecar says gives other radiometry.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { TubanError } from '../../schemas/errors.js';
import { parseXml, XmlSyntaxError } from './xml-tree.js';
import type { XmlElement } from './xml-tree.js';

export interface PamBand {
  scale: number | null;
  offset: number | null;
  /** The band's declared nodata value (NaN for `nan`); null where it declares none. */
  nodata: number | null;
  description: string | null;
  /** `<ColorInterp>` as written ('Alpha', 'Red', …): set on a file opened read-only. */
  colorInterp: string | null;
  /** Default-domain `<MDI key="…">` items. */
  metadata: Record<string, string>;
}

export interface PamSidecar {
  metadata: Record<string, string>;
  /** By 0-based band; bands the sidecar does not mention are absent. */
  bands: Map<number, PamBand>;
  /** GDAL's six coefficients, where the sidecar gives them (GDAL then uses them over the file's own). */
  geoTransform: number[] | null;
  /**
   * The first `<SRS>` as written (GDAL uses it over the file's own CRS), with its
   * dataAxisToSRSAxisMapping attribute (null where absent: GDAL then takes x as east).
   */
  srs: { text: string; axisMapping: string | null } | null;
}

/** The sidecar of `tiffPath` (`<tiffPath>.aux.xml`) read and checked against a file of `bandCount` bands; null when there is none. */
export async function readPamSidecar(tiffPath: string, bandCount: number): Promise<PamSidecar | null> {
  const path = `${tiffPath}.aux.xml`;
  let xml: string;
  try {
    xml = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw pamSidecarError(tiffPath, `cannot be read (${code ?? (err as Error).message})`, err);
  }
  return parsePamSidecar(xml, bandCount, tiffPath);
}

/** A TILE.UNREADABLE about the tile `tiffPath` (rejected by that name), its message naming the sidecar. */
export function pamSidecarError(tiffPath: string, problem: string, cause?: unknown): TubanError {
  return new TubanError('TILE.UNREADABLE', `GDAL sidecar ${basename(tiffPath)}.aux.xml ${problem}`, tiffPath, cause === undefined ? undefined : { cause });
}

/** Decimal (GDAL writes `%.14E` for nodata, shortest form for scale/offset); `nan`/`inf` only where allowed. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function parsePamSidecar(xml: string, bandCount: number, tiffPath: string): PamSidecar {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw pamSidecarError(tiffPath, `is not well-formed XML: ${err.message}`, err);
    throw err;
  }
  const fail = (problem: string, el: XmlElement): never => {
    throw pamSidecarError(tiffPath, `${problem} (line ${el.line})`);
  };
  if (root.name !== 'PAMDataset') fail(`has root element <${root.name}>, not GDAL's <PAMDataset>`, root);

  const number = (el: XmlElement, what: string, special: boolean): number => {
    const t = el.text.trim();
    if (NUMBER.test(t)) return Number(t);
    if (special && /^[+-]?(?:nan|inf(?:inity)?)$/i.test(t)) return /nan/i.test(t) ? NaN : t.startsWith('-') ? -Infinity : Infinity;
    return fail(`gives ${what} '${t.slice(0, 40)}', not a number`, el);
  };
  // GDAL writes nodata as %.14E text, and where that text does not give the same double back, the
  // double's own 8 bytes (little-endian, hex) in le_hex_equiv, which it reads in place of the text:
  // -3.4028234663852886e+38 would otherwise come back as another double and match no pixel.
  const nodataOf = (el: XmlElement, band: number): number => {
    const hex = el.attrs.le_hex_equiv?.trim();
    if (hex === undefined) return number(el, `band ${band} NoDataValue`, true);
    if (!/^[0-9a-fA-F]{16}$/.test(hex)) return fail(`gives band ${band} NoDataValue le_hex_equiv="${hex.slice(0, 40)}", not the 16 hex digits of a double`, el);
    return Buffer.from(hex, 'hex').readDoubleLE(0);
  };
  const metadata = (el: XmlElement): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const mdi of el.children) {
      if (mdi.name !== 'MDI') continue;
      if (mdi.attrs.key === undefined) fail('has an <MDI> without key="…"', mdi);
      out[mdi.attrs.key] = mdi.text;
    }
    return out;
  };
  // GDAL's default metadata domain is a <Metadata> without a domain (or an empty one).
  const isDefaultMetadata = (el: XmlElement) => el.name === 'Metadata' && !el.attrs.domain;

  const out: PamSidecar = { metadata: {}, bands: new Map(), geoTransform: null, srs: null };
  for (const el of root.children) {
    if (isDefaultMetadata(el)) Object.assign(out.metadata, metadata(el));
    if (el.name === 'GeoTransform') {
      const parts = el.text.split(',').map((s) => s.trim());
      if (parts.length !== 6 || parts.some((p) => !NUMBER.test(p))) fail(`gives GeoTransform '${el.text.trim().slice(0, 80)}', not six numbers`, el);
      out.geoTransform = parts.map(Number);
    }
    // The first, as GDAL's CPLGetXMLNode finds it.
    if (el.name === 'SRS') out.srs ??= { text: el.text.trim(), axisMapping: el.attrs.dataAxisToSRSAxisMapping ?? null };
    if (el.name !== 'PAMRasterBand') continue;
    const attr = el.attrs.band;
    if (attr === undefined) fail('has a <PAMRasterBand> without band="…"', el);
    if (!/^\s*\d+\s*$/.test(attr)) fail(`has <PAMRasterBand band="${attr.slice(0, 20)}">, not a band number`, el);
    const n = Number(attr);
    if (n < 1 || n > bandCount) fail(`describes band ${n}, the file has ${bandCount} band${bandCount === 1 ? '' : 's'}`, el);
    if (out.bands.has(n - 1)) fail(`describes band ${n} twice`, el);
    const band: PamBand = { scale: null, offset: null, nodata: null, description: null, colorInterp: null, metadata: {} };
    for (const c of el.children) {
      // The first of each, as GDAL takes it.
      if (c.name === 'Scale') {
        band.scale ??= number(c, `band ${n} Scale`, false);
        if (band.scale === 0) fail(`gives band ${n} Scale 0: every value would be its offset`, c);
      } else if (c.name === 'Offset') band.offset ??= number(c, `band ${n} Offset`, false);
      else if (c.name === 'NoDataValue') band.nodata ??= nodataOf(c, n);
      else if (c.name === 'Description') band.description ??= c.text.trim() || null;
      else if (c.name === 'ColorInterp') band.colorInterp ??= c.text.trim() || null;
      else if (isDefaultMetadata(c)) Object.assign(band.metadata, metadata(c));
    }
    out.bands.set(n - 1, band);
  }
  return out;
}
