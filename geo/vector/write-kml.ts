/**
 * KML 2.2 (OGC 07-147r2) for field work: the format the phone map apps crews use for site visits
 * (奥维互动地图, 两步路, Google Earth) import. Lon/lat WGS 84, as KML requires; each placemark is a pin
 * at its centre (where a phone navigates to) with the outline, its facts as the description a crew
 * reads on site and as ExtendedData for GIS tools.
 */
import type { Geometry, Position } from 'geojson';

export interface KmlStyle {
  /** Outline colour '#rrggbb'. */
  readonly line: string;
  /** Fill opacity 0–1 of the same colour. */
  readonly fillOpacity: number;
}

export interface KmlPlacemark {
  readonly name: string;
  /** Label → value, in order: the description's lines and the ExtendedData. */
  readonly facts: readonly (readonly [string, string])[];
  readonly geometry: Geometry | null;
  /** The pin, [lon, lat]. */
  readonly pin: readonly [number, number] | null;
  readonly style?: string;
}

export interface KmlDocument {
  readonly name: string;
  readonly styles: Readonly<Record<string, KmlStyle>>;
  readonly placemarks: readonly KmlPlacemark[];
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// XML 1.0 has no place for most control characters, U+FFFE/U+FFFF or a lone surrogate, even escaped.
const xml = (s: string) =>
  s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);

/**
 * A <description> is HTML to the apps that show it (KML 2.2 §9.1.3.7: Google Earth's balloon, ArcGIS
 * and phone apps' web views): each fact a line (<br/>, as a newline runs them into one), and what a
 * user typed (a clue's description) shown as text, not taken as markup. XML-escaped on top by `xml`.
 */
const html = (s: string) => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);

/** KML colours are aabbggrr. */
function kmlColour(hex: string, opacity: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`KML style colour '${hex}' is not #rrggbb`);
  const a = Math.round(Math.max(0, Math.min(1, opacity)) * 255).toString(16).padStart(2, '0');
  return `${a}${m[3]}${m[2]}${m[1]}`.toLowerCase();
}

const coords = (ring: Position[]) => ring.map(([x, y]) => `${+x.toFixed(7)},${+y.toFixed(7)}`).join(' ');

function polygonKml(rings: Position[][]): string {
  const [outer, ...holes] = rings;
  return `<Polygon><outerBoundaryIs><LinearRing><coordinates>${coords(outer)}</coordinates></LinearRing></outerBoundaryIs>${holes
    .map((h) => `<innerBoundaryIs><LinearRing><coordinates>${coords(h)}</coordinates></LinearRing></innerBoundaryIs>`)
    .join('')}</Polygon>`;
}

function shapes(g: Geometry | null): string[] {
  if (!g) return [];
  switch (g.type) {
    case 'Polygon':
      return [polygonKml(g.coordinates)];
    case 'MultiPolygon':
      return g.coordinates.map(polygonKml);
    case 'Point':
      return [`<Point><coordinates>${coords([g.coordinates])}</coordinates></Point>`];
    default:
      throw new Error(`KML: a ${g.type} is not written (polygons and points only)`);
  }
}

function placemarkKml(p: KmlPlacemark): string {
  const parts = [...(p.pin && p.geometry?.type !== 'Point' ? [`<Point><coordinates>${coords([[...p.pin]])}</coordinates></Point>`] : []), ...shapes(p.geometry)];
  const geometry = parts.length === 1 ? parts[0] : parts.length > 1 ? `<MultiGeometry>${parts.join('')}</MultiGeometry>` : '';
  const description = p.facts.map(([k, v]) => `${html(k)}：${html(v)}`).join('<br/>\n');
  const data = p.facts.map(([k, v]) => `<Data name="${xml(k)}"><value>${xml(v)}</value></Data>`).join('');
  return `<Placemark><name>${xml(p.name)}</name><description>${xml(description)}</description>${p.style ? `<styleUrl>#${xml(p.style)}</styleUrl>` : ''}<ExtendedData>${data}</ExtendedData>${geometry}</Placemark>`;
}

export function writeKml(doc: KmlDocument): string {
  const styles = Object.entries(doc.styles).map(
    ([id, s]) =>
      // In the schema's order (kml:StyleType: IconStyle, LabelStyle, LineStyle, PolyStyle, …).
      `<Style id="${xml(id)}"><IconStyle><color>${kmlColour(s.line, 1)}</color></IconStyle><LineStyle><color>${kmlColour(s.line, 1)}</color><width>2</width></LineStyle><PolyStyle><color>${kmlColour(s.line, s.fillOpacity)}</color></PolyStyle></Style>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>',
    `<name>${xml(doc.name)}</name>`,
    ...styles,
    ...doc.placemarks.map(placemarkKml),
    '</Document></kml>',
    '',
  ].join('\n');
}
