// Lon/lat helpers for what the page draws itself: areas of drawn rings (the server recomputes them
// with PostGIS on the spheroid; this is the preview), distances, and a point along an azimuth.
const R = 6371008.8; // mean Earth radius, metres
const rad = (d) => (d * Math.PI) / 180;

/** Area of a lon/lat ring in m² (spherical excess, as turf's area): close enough for a preview. */
export function ringAreaM2(ring) {
  let sum = 0;
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i];
    const [x2, y2] = ring[(i + 1) % ring.length];
    sum += (rad(x2) - rad(x1)) * (2 + Math.sin(rad(y1)) + Math.sin(rad(y2)));
  }
  return Math.abs((sum * R * R) / 2);
}

/** Great-circle distance in metres. */
export function distanceM([x1, y1], [x2, y2]) {
  const a = Math.sin(rad(y2 - y1) / 2) ** 2 + Math.cos(rad(y1)) * Math.cos(rad(y2)) * Math.sin(rad(x2 - x1) / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(a));
}

/** The point `metres` from `[lon, lat]` towards `azimuth` (degrees clockwise from north), flat-earth (short distances). */
export function along([lon, lat], azimuth, metres) {
  const dy = (metres * Math.cos(rad(azimuth))) / 111_320;
  const dx = (metres * Math.sin(rad(azimuth))) / (111_320 * Math.cos(rad(lat)));
  return [lon + dx, lat + dy];
}
