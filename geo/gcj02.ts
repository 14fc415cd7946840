/**
 * GCJ-02, the obfuscated datum of Chinese web maps (Gaode/AMap, Tencent, DataV boundary files).
 * It is WGS84 plus a smooth, position-dependent offset of a few hundred metres. The forward
 * offset is public (the widely reproduced "eviltransform" formula); there is no closed-form
 * inverse, so `gcj02ToWgs84` iterates the forward function to a fixed point.
 * All coordinates are lon/lat degrees.
 */

// Krasovsky 1940 ellipsoid, which the GCJ-02 formula uses.
const A = 6378245.0;
const EE = 0.00669342162296594323;

/** True when GCJ-02 applies at all: outside this box Chinese maps publish plain WGS84. */
export function insideChina(lon: number, lat: number): boolean {
  return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

function offsetLat(x: number, y: number): number {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function offsetLon(x: number, y: number): number {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

/** The GCJ-02 offset (degrees) to add to a WGS84 point. */
function delta(lon: number, lat: number): [number, number] {
  const x = lon - 105;
  const y = lat - 35;
  const radLat = (lat / 180) * Math.PI;
  const s = Math.sin(radLat);
  const magic = 1 - EE * s * s;
  const sqrtMagic = Math.sqrt(magic);
  const dLat = (offsetLat(x, y) * 180) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  const dLon = (offsetLon(x, y) * 180) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [dLon, dLat];
}

/** WGS84 lon/lat → GCJ-02 lon/lat (identity outside China's bounding box). */
export function wgs84ToGcj02(lon: number, lat: number): [number, number] {
  if (!insideChina(lon, lat)) return [lon, lat];
  const [dLon, dLat] = delta(lon, lat);
  return [lon + dLon, lat + dLat];
}

/**
 * GCJ-02 lon/lat → WGS84 lon/lat (identity outside China's bounding box). Fixed-point iteration
 * w ← w − (fwd(w) − g): the offset's gradient is tiny (~1e-5 per degree), so each step gains about
 * five digits; we stop below 1e-10° (≈ 0.01 mm), far inside the 0.5 m requirement.
 */
export function gcj02ToWgs84(lon: number, lat: number): [number, number] {
  if (!insideChina(lon, lat)) return [lon, lat];
  let wLon = lon;
  let wLat = lat;
  for (let i = 0; i < 10; i++) {
    const [gLon, gLat] = wgs84ToGcj02(wLon, wLat);
    const eLon = gLon - lon;
    const eLat = gLat - lat;
    wLon -= eLon;
    wLat -= eLat;
    if (Math.abs(eLon) < 1e-10 && Math.abs(eLat) < 1e-10) break;
  }
  return [wLon, wLat];
}
