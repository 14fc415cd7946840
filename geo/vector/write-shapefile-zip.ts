/**
 * Shapefiles in one .zip, the way bureaus pass them around: per layer `<name>.shp/.shx/.dbf/.prj/.cpg`
 * (.cpg `UTF-8`) at the archive's root, so GDAL opens the archive directly (`/vsizip/x.shp.zip`)
 * and every layer shows as one layer. A shapefile holds one geometry kind, so points and polygons
 * travel as separate layers of the same archive.
 */
import { encodeShapefile, type DbfField, type ShapefileFeature } from './write-shapefile.js';
import { zipEntries, type ZipEntry } from './zip.js';

/** ESRI's WKT for lon/lat WGS 84 (what ArcGIS writes; GDAL identifies it as EPSG:4326). */
export const WGS84_ESRI_WKT =
  'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';

export interface ShapefileLayer {
  /** File base name inside the archive (ASCII keeps old desktop tools happy). */
  name: string;
  features: ShapefileFeature[];
  fields: readonly DbfField[];
}

/** Bytes of a .zip holding each layer's five files; coordinates must be lon/lat (the .prj says WGS 84). */
export function shapefileZip(layers: readonly ShapefileLayer[], prjWkt: string = WGS84_ESRI_WKT): Buffer {
  const entries: ZipEntry[] = [];
  for (const layer of layers) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(layer.name)) throw new Error(`shapefile zip: layer name '${layer.name}' must be ASCII letters, digits, '_' or '-'`);
    const p = encodeShapefile(layer.features, { prjWkt, fields: layer.fields });
    entries.push(
      { name: `${layer.name}.shp`, data: p.shp },
      { name: `${layer.name}.shx`, data: p.shx },
      { name: `${layer.name}.dbf`, data: p.dbf },
      { name: `${layer.name}.prj`, data: p.prj! },
      { name: `${layer.name}.cpg`, data: p.cpg },
    );
  }
  return zipEntries(entries);
}
