#!/usr/bin/python3
"""Label Tuban's polygons on the benchmark scene by what the generator did under them.

  fp_causes.py POLYGONS.geojson [--data /tmp/tuban-bench/data] [--size 4096] [--cache DIR] [--json OUT]
               [--oscd ../shared/data/oscd]

POLYGONS is Tuban's polygons.geojson for that size's scene (tuban batch on $BENCH_DATA/SIZE). Prints one
JSON line per cause (count, medians, spectra), then what each candidate filter in RULES would drop.
The class maps take ~40 s (4096) / ~4 min and ~11 GB peak (10980) and are cached in --cache.

Reproduces gen_scene.py's per-pixel class maps of both epochs (cls, cls2: harvested wheat ->
stubble, a fifth ploughed -> fallow, sown fallow -> corn) for the window by calling the
generator's own Scene.strip() with the scene's seed, strip by strip, rasterizes the polygons
the way eval.py does (pixel centre), and tabulates every polygon by its cause with its spectra.
Analysis only: nothing here feeds the detector.
"""
import argparse, json, os, sys
from collections import Counter
import numpy as np
from osgeo import gdal, ogr
from scipy import ndimage

gdal.UseExceptions()
# The generator beside the repository (../shared/bench/gen), as the bench finds its peers.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'bench', 'gen'))
import gen_scene as G  # noqa: E402


def class_maps(src, size, cache):
    """cls, cls2, field id, block label of the window; cached as npz (the full-width strips take minutes)"""
    path = os.path.join(cache, f'classes_{size}.npz')
    if os.path.exists(path):
        z = np.load(path)
        return {k: z[k] for k in z.files}
    meta = json.load(open(os.path.join(src, 'meta.json')))
    N, seed = meta['size'], meta['seed']
    x0, y0 = meta['windows'][str(size)] if size != N else (0, 0)
    sc = G.Scene(N, seed)
    out = {k: np.empty((size, size), t) for k, t in
           (('cls', np.uint8), ('cls2', np.uint8), ('fid', np.int64), ('lab', np.int32))}
    # gen_scene strips start at multiples of STRIP; the window's rows need not, so cover them
    r = (y0 // G.STRIP) * G.STRIP
    while r < y0 + size:
        r1 = min(N, r + G.STRIP)
        cls, _, _, lab = sc.strip(r, r1)
        # the same field id and epoch-2 classes as Scene.strip (it does not return them)
        Rr = np.arange(r, r1)[:, None].astype(np.float32) + 0.5
        Cc = np.arange(N)[None, :].astype(np.float32) + 0.5
        th = sc.theta[lab]
        u = Cc * np.cos(th) + Rr * np.sin(th)
        v = -Cc * np.sin(th) + Rr * np.cos(th)
        fi = np.floor(u / sc.fw[lab] + sc.fo1[lab]).astype(np.int64)
        fj = np.floor(v / sc.fl[lab] + sc.fo2[lab]).astype(np.int64)
        fid = lab.astype(np.int64) * 1000003 + fi * 7919 + fj
        harvest = (cls == G.C['wheat']) & (G.hash_u(fid, salt=53) < 0.04)
        sown = (cls == G.C['fallow']) & (G.hash_u(fid, salt=59) < 0.05)
        cls2 = cls.copy()
        cls2[harvest] = G.C['stubble']
        cls2[harvest & (G.hash_u(fid, salt=61) < 0.20)] = G.C['fallow']
        cls2[sown] = G.C['corn']
        a, b = max(r, y0), min(r1, y0 + size)
        for k, arr in (('cls', cls), ('cls2', cls2), ('fid', fid), ('lab', lab)):
            out[k][a - y0:b - y0] = arr[a - r:b - r, x0:x0 + size]
        print(f'strip {r}', file=sys.stderr, flush=True)
        r = r1
    os.makedirs(cache, exist_ok=True)
    np.savez(path, **out)
    return out



CHANGED = ('stubble', 'ploughed', 'sown')
WATER = (G.C['river'], G.C['water'])


def rasterize_ids(path, ref):
    """polygon index (1-based, feature order) on the reference grid, pixel-centre rule like eval.py"""
    src = ogr.Open(path)
    lyr = src.GetLayer(0)
    mem = ogr.GetDriverByName('Memory').CreateDataSource('m')
    ml = mem.CreateLayer('p', lyr.GetSpatialRef(), ogr.wkbUnknown)
    ml.CreateField(ogr.FieldDefn('pid', ogr.OFTInteger))
    props = []
    for i, f in enumerate(lyr):
        g = ogr.Feature(ml.GetLayerDefn())
        g.SetField('pid', i + 1)
        g.SetGeometry(f.GetGeometryRef().Clone())
        ml.CreateFeature(g)
        props.append(json.loads(f.ExportToJson())['properties'])
    ds = gdal.GetDriverByName('MEM').Create('', ref.RasterXSize, ref.RasterYSize, 1, gdal.GDT_Int32)
    ds.SetGeoTransform(ref.GetGeoTransform())
    ds.SetProjection(ref.GetProjection())
    gdal.RasterizeLayer(ds, [1], ml, options=['ATTRIBUTE=pid'])
    return ds.ReadAsArray(), props


def gt_kinds(gt, objects, x0, y0):
    """kind of each 8-connected GT component (nearest planted object centre to its centroid)"""
    from scipy.spatial import cKDTree
    lab, n = ndimage.label(gt == 1, np.ones((3, 3), bool))
    obj = [o for o in objects if x0 - 40 <= o['col'] < x0 + gt.shape[1] + 40 and y0 - 40 <= o['row'] < y0 + gt.shape[0] + 40]
    tree = cKDTree([(o['row'] - y0, o['col'] - x0) for o in obj])
    cen = ndimage.center_of_mass(np.ones_like(lab), lab, range(1, n + 1))
    _, k = tree.query(cen)
    return lab, np.array(['none'] + [obj[i]['kind'] for i in k])


def spectra(img, m):
    """mean band values, pixel-mean NDVI and brightness (mean of the 4 bands) under mask m"""
    px = img[:, m].astype(np.float64)
    ndvi = (px[3] - px[2]) / np.maximum(1, px[3] + px[2])
    return px.mean(1), float(ndvi.mean()), float(px.mean())


def label_polygons(ids, props, maps, gt, before, after, gtlab, gtkind):
    cls, cls2, fid = maps['cls'], maps['cls2'], maps['fid']
    ch = np.zeros(cls.shape, np.uint8)          # 1 stubble, 2 ploughed, 3 sown (whole fields)
    ch[(cls == G.C['wheat']) & (cls2 == G.C['stubble'])] = 1
    ch[(cls == G.C['wheat']) & (cls2 == G.C['fallow'])] = 2
    ch[(cls == G.C['fallow']) & (cls2 == G.C['corn'])] = 3
    # parcels: one field id within one farm class (roads split them); sizes over the window
    farm = cls <= G.C['grass']
    parcel = np.where(farm, fid * 32 + cls, -1)
    uniq, inv = np.unique(parcel, return_inverse=True)
    inv = inv.reshape(cls.shape)
    psize = np.bincount(inv.ravel())
    valid_parcel = uniq >= 0
    # mixed pixels: within 1 px of a change of class (either epoch) or of field id
    def edges(a):
        e = np.zeros(a.shape, bool)
        e[:, 1:] |= a[:, 1:] != a[:, :-1]; e[:, :-1] |= a[:, 1:] != a[:, :-1]
        e[1:] |= a[1:] != a[:-1]; e[:-1] |= a[1:] != a[:-1]
        return e
    bnd = ndimage.binary_dilation(edges(cls) | edges(cls2) | edges(fid), iterations=1)
    water = np.isin(cls, WATER)
    cloud = gt == 255
    objs = ndimage.find_objects(ids)
    rows = []
    for i, sl in enumerate(objs):
        pid = i + 1
        if sl is None:
            continue
        pad = 4
        s = tuple(slice(max(0, a.start - pad), min(n, a.stop + pad)) for a, n in zip(sl, ids.shape))
        m = ids[s] == pid
        n = int(m.sum())
        near1 = ndimage.binary_dilation(m, iterations=1) & ~m
        near2 = ndimage.binary_dilation(m, iterations=2)
        near3 = ndimage.binary_dilation(m, iterations=3)
        g = gt[s]
        gt1 = float((g[m] == 1).mean())
        inval = float((g[m] == 255).mean())
        c, c2, chs = cls[s][m], cls2[s][m], ch[s][m]
        fr = {k: float((chs == j + 1).mean()) for j, k in enumerate(CHANGED)}
        # thinness: a 2x2 block of pixels and the largest inscribed distance
        blk = bool(ndimage.binary_erosion(m, np.ones((2, 2), bool), border_value=0).any())
        thick = float(ndimage.distance_transform_edt(np.pad(m, 1)).max())
        bfrac = float(bnd[s][m].mean())
        pin = inv[s][m]
        pc = Counter(pin[valid_parcel[pin]].tolist())
        top, topn = pc.most_common(1)[0] if pc else (-1, 0)
        kinds = Counter(gtkind[gtlab[s][m]].tolist())
        kinds.pop('none', None)
        b_mean, b_ndvi, b_bri = spectra(before[(slice(None),) + s], m)
        a_mean, a_ndvi, a_bri = spectra(after[(slice(None),) + s], m)
        pair = Counter(zip(c.tolist(), c2.tolist())).most_common(1)[0][0]
        r = dict(pid=pid, npix=n, gt1=gt1, invalid=inval, true=gt1 >= 0.5,
                 near_gt=bool((g[near2] == 1).any()), near_cloud=bool((g[near3] == 255).any()),
                 near_water=bool(water[s][near1 | m].any()), near_changed=bool((ch[s][near1 | m] > 0).any()),
                 boundary=bfrac, block2=blk, thick=thick, **fr,
                 n_parcels=len(pc), parcel_share=topn / n,             # share of the polygon in its main parcel
                 parcel_cover=(topn / psize[top]) if top >= 0 else 0.0,  # share of that parcel the polygon covers
                 parcel_size=int(psize[top]) if top >= 0 else 0,
                 pair=f'{G.CLS[pair[0]]}>{G.CLS[pair[1]]}',
                 gt_kind=kinds.most_common(1)[0][0] if kinds else None,
                 change_type=props[i].get('change_type'), confidence=props[i].get('confidence'),
                 before=b_mean.round(1).tolist(), after=a_mean.round(1).tolist(),
                 ndvi_b=b_ndvi, ndvi_a=a_ndvi, bright_b=b_bri, bright_a=a_bri)
        r['cause'] = cause(r)
        rows.append(r)
    return rows


def cause(r):
    """one primary cause, most specific first"""
    if r['true']:
        return 'TRUE:' + (r['gt_kind'] or '?')
    if r['invalid'] >= 0.5:
        return 'in cloud (not scored)'
    if r['gt1'] > 0:
        return 'partly-true (<50% GT)'
    if r['near_gt']:
        return 'GT halo (within 2 px)'
    if r['near_cloud']:
        return 'cloud/shadow edge'
    for k, name in (('ploughed', 'harvested>ploughed (fallow)'), ('stubble', 'harvested>stubble'), ('sown', 'sown (fallow>corn)')):
        if r[k] >= 0.5:
            return name
    if r['near_changed'] and r['boundary'] >= 0.5:
        return 'edge of a changed field'
    if r['near_water']:
        return 'water edge'
    if r['boundary'] >= 0.5:
        return 'field/class boundary (mixed px)'
    return 'texture/noise in unchanged class'


def summarise(rows, key='cause'):
    groups = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    out = []
    for k, g in sorted(groups.items(), key=lambda kv: (kv[0].startswith('TRUE'), -len(kv[1]))):
        med = lambda f: float(np.median([x[f] for x in g]))
        out.append(dict(cause=k, n=len(g), median_px=med('npix'), median_conf=med('confidence'),
                        change_type=dict(Counter(x['change_type'] for x in g).most_common()),
                        block2=sum(x['block2'] for x in g),
                        before=np.median([x['before'] for x in g], 0).round(0).tolist(),
                        after=np.median([x['after'] for x in g], 0).round(0).tolist(),
                        ndvi_b=round(med('ndvi_b'), 3), ndvi_a=round(med('ndvi_a'), 3),
                        bright_b=round(med('bright_b')), bright_a=round(med('bright_a')),
                        parcel_share=round(med('parcel_share'), 2), parcel_cover=round(med('parcel_cover'), 2)))
    return out


# Candidate polygon filters, judged here only (the detector does not apply them).
RULES = {
    # vegetated in the after image and greener than before: sowing / regrowth, not a conversion to
    # built, bare or filled land (those end with NDVI well under 0.3 on Sentinel-2)
    'greening: NDVI after >= 0.35 and rose >= 0.2': lambda r: r['ndvi_a'] >= 0.35 and r['ndvi_a'] - r['ndvi_b'] >= 0.2,
    # the change fills one before-image farm parcel and stays inside it: a field operation. Uses the
    # generator's own fields, i.e. an oracle for a cadastral parcel layer Tuban does not have
    'parcel-confined (oracle parcels): >= 90 % in one parcel, covers >= 80 % of it':
        lambda r: r['parcel_share'] >= 0.9 and r['parcel_cover'] >= 0.8,
}
RULES['both'] = lambda r: any(f(r) for k, f in list(RULES.items())[:2])


def judge_rules(rows):
    scored = [r for r in rows if r['invalid'] < 0.5]
    n, t = len(scored), sum(r['true'] for r in scored)
    out = []
    for name, f in RULES.items():
        d = [r for r in scored if f(r)]
        dt = sum(r['true'] for r in d)
        out.append(dict(rule=name, dropped_true=dt, dropped_false=len(d) - dt,
                        polygons=n - len(d), true=t - dt, precision=round((t - dt) / max(1, n - len(d)), 4),
                        by_cause=dict(Counter(r['cause'] for r in d).most_common())))
    return out


def oscd_greening(root):
    """share of OSCD's labelled change objects (8-connected, >= 3 px) the greening rule would drop"""
    import glob
    n = hit = px = pxhit = 0
    for city in sorted(glob.glob(os.path.join(root, 'images', '*', ''))):
        c = os.path.basename(city.rstrip('/'))
        rd = lambda ep, b: gdal.Open(glob.glob(f'{city}imgs_{ep}/*_{b}.tif')[0]).ReadAsArray().astype(np.float64)
        lab = gdal.Open(glob.glob(os.path.join(root, 'labels', c, '*.tif'))[0]).ReadAsArray()
        arrs = [rd(1, 'B04'), rd(1, 'B08'), rd(2, 'B04'), rd(2, 'B08')]
        # the dates differ by a few pixels in extent: the common top-left part is close enough for object means
        h = min(x.shape[0] for x in arrs + [lab]); w = min(x.shape[1] for x in arrs + [lab])
        r1, n1, r2, n2 = [x[:h, :w] for x in arrs]
        L, k = ndimage.label(lab[:h, :w] == 2, np.ones((3, 3), bool))
        sz = np.bincount(L.ravel())[1:]
        a = np.array(ndimage.mean((n2 - r2) / np.maximum(1, n2 + r2), L, range(1, k + 1)))
        b = np.array(ndimage.mean((n1 - r1) / np.maximum(1, n1 + r1), L, range(1, k + 1)))
        big = sz >= 3
        m = big & (a >= 0.35) & (a - b >= 0.2)
        n += int(big.sum()); hit += int(m.sum()); px += int(sz[big].sum()); pxhit += int(sz[m].sum())
    return dict(objects=n, dropped=hit, px=px, px_dropped=pxhit)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('polygons')
    ap.add_argument('--data', default='/tmp/tuban-bench/data')
    ap.add_argument('--size', type=int, default=4096)
    ap.add_argument('--cache', default='/tmp/fp37w')
    ap.add_argument('--json')
    ap.add_argument('--oscd', help='OSCD root (images/, labels/): also report what the greening rule costs there')
    a = ap.parse_args()
    src = os.path.join(a.data, 'full_src')
    meta = json.load(open(os.path.join(src, 'meta.json')))
    x0, y0 = meta['windows'][str(a.size)] if a.size != meta['size'] else (0, 0)
    maps = class_maps(src, a.size, a.cache)
    d = os.path.join(a.data, str(a.size))
    ref = gdal.Open(os.path.join(d, 'gt.tif'))
    gt = ref.ReadAsArray()
    ids, props = rasterize_ids(a.polygons, ref)
    before = gdal.Open(os.path.join(d, 'before.tif')).ReadAsArray()
    after = gdal.Open(os.path.join(d, 'after.tif')).ReadAsArray()
    gtlab, gtkind = gt_kinds(gt, json.load(open(os.path.join(src, 'objects.json')))['changes'], x0, y0)
    rows = label_polygons(ids, props, maps, gt, before, after, gtlab, gtkind)
    scored = [r for r in rows if r['invalid'] < 0.5]
    print(f"polygons {len(rows)} scored {len(scored)} true {sum(r['true'] for r in scored)} "
          f"precision {sum(r['true'] for r in scored) / max(1, len(scored)):.4f}", file=sys.stderr)
    summ = summarise(rows)
    for s_ in summ:
        print(json.dumps(s_))
    rules = judge_rules(rows)
    for r in rules:
        print(json.dumps(r))
    oscd = oscd_greening(a.oscd) if a.oscd else None
    if oscd:
        print(json.dumps(dict(oscd_greening=oscd)))
    if a.json:
        json.dump(dict(rows=rows, summary=summ, rules=rules, oscd=oscd), open(a.json, 'w'))


if __name__ == '__main__':
    main()
