// Clues from other sources (巡查发现, 群众举报, 热线): bureau and district users file a point or an
// outline clicked on the map (a township's own account, in its township); the clue gets a code, the
// 乡镇/街道 it lies in, and enters the same workflow and ledger.
import { api, errorText } from './api.js';
import { $, chinaToday, esc, m2, oneClick, options, toast } from './dom.js';
import { draw } from './draw.js';
import { ringAreaM2 } from './geo.js';
import * as L from './labels.js';
import { showDrawing } from './map-overlays.js';
import { loadMonths } from './months.js';
import { emit, state } from './state.js';

let geometry = null;

function describe(g) {
  if (!g) return '尚未选择位置';
  if (g.type === 'Point') return `点 ${g.coordinates[1].toFixed(6)}°N, ${g.coordinates[0].toFixed(6)}°E`;
  return `范围 ${g.coordinates[0].length - 1} 个顶点，约 ${m2(ringAreaM2(g.coordinates[0]))} m²（${(ringAreaM2(g.coordinates[0]) / (10000 / 15)).toFixed(2)} 亩）`;
}

export function renderClueForm() {
  const u = state.user;
  const all = state.districts.length ? state.districts : u.district ? [{ code: u.district, name: u.district }] : [];
  // A township's account: its township's district (the code's first six digits), where the layer has it.
  const own = u.township ? all.filter((d) => d.code === u.township.slice(0, 6)) : [];
  const districts = own.length ? own : all;
  $('view-clue').innerHTML = `<h2>登记线索</h2>
    <form id="clue-form" class="verdict">
      <label>发现方式 <select name="source" id="clue-source" required><option value="">请选择</option>${options(L.CLUE_SOURCES)}</select></label>
      <label>区县 <select name="district_code" id="clue-district" required>${districts.map((d) => `<option value="${esc(d.code)}" data-name="${esc(d.name)}">${esc(d.name)} (${esc(d.code)})</option>`).join('')}</select></label>
      <div class="field"><span class="label">位置</span>
        <div class="buttons"><button type="button" id="clue-point">在地图上点选</button><button type="button" id="clue-polygon">在地图上画范围</button></div>
        <span id="clue-where" class="muted">${describe(geometry)}</span>
      </div>
      <label>线索描述 <textarea name="description" id="clue-description" rows="3" required maxlength="2000" placeholder="如 村东侧新建彩钢棚，约 200 平方米"></textarea></label>
      <label>发现日期 <input type="date" name="reported_on" id="clue-date" value="${chinaToday()}" max="${chinaToday()}"></label>
      ${u.role === 'bureau' ? `<p class="muted">主办单位：${esc(L.BUREAUS[u.bureau] ?? u.bureau)}</p>` : `<label>主办单位 <select name="lead_bureau" id="clue-bureau">${options(L.BUREAUS, 'natural_resources')}</select></label>`}
      <button type="submit" class="primary" id="clue-submit">登记线索</button>
    </form>`;
  const pick = (mode) => async () => {
    const g = await draw(mode);
    if (!g) return;
    geometry = g;
    $('clue-where').textContent = describe(g);
  };
  $('clue-point').addEventListener('click', pick('point'));
  $('clue-polygon').addEventListener('click', pick('polygon'));
  $('clue-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!geometry) return toast('请先在地图上选择线索位置', 'error');
    return oneClick($('clue-submit'), () => submitClue(new FormData(ev.target)));
  });
  const submitClue = async (fd) => {
    const district = $('clue-district');
    const body = {
      source: fd.get('source'),
      district_code: district.value,
      district_name: district.selectedOptions[0]?.dataset.name || undefined,
      geometry,
      description: String(fd.get('description')).trim(),
      ...(fd.get('reported_on') ? { reported_on: fd.get('reported_on') } : {}),
      ...(fd.get('lead_bureau') ? { lead_bureau: fd.get('lead_bureau') } : {}),
    };
    try {
      const { code, code_mismatches: mismatches } = await api('/api/clues', { method: 'POST', body });
      if (mismatches?.length) showClueNotice(code, mismatches);
      else {
        hideClueNotice();
        toast(`线索已登记：${code}`, 'ok');
      }
      geometry = null;
      showDrawing([]);
      renderClueForm();
      // The clue is in the month it was found, which may be last month (with no imagery): offer it and show it.
      const { epoch } = (await api(`/api/polygons/${encodeURIComponent(code)}`)).properties;
      await loadMonths();
      await (epoch && epoch !== state.epoch ? emit('month', epoch) : emit('changed', null));
      await emit('open', code);
    } catch (err) {
      toast(clueRefusal(err) ?? errorText(err), 'error');
    }
  };
}

const named = (d) => (d?.name ? `${d.name}（${d.code}）` : d?.code ?? '');

/**
 * A unit's code not under the one above it, in words (the server's code_mismatches; its English
 * `warnings` say the same, for the log): the layers disagree, and the clue keeps both as they say.
 */
function mismatchText({ unit, parent }) {
  const kind = (u) => L.ZONE_KINDS[u.kind] ?? u.kind;
  return `${kind(unit)} ${named(unit)}的代码不以所在${kind(parent)} ${named(parent)}的代码开头，请核对${kind(unit)}和${kind(parent)}图层`;
}

/** What the server warned of the clue `code`: above the views (the case opens as usual) until dismissed. */
function showClueNotice(code, mismatches) {
  const box = $('clue-notice');
  box.innerHTML = `<p>已登记 ${esc(code)}；请注意：</p>
    <ul>${mismatches.map((m) => `<li>${esc(mismatchText(m))}</li>`).join('')}</ul>
    <p class="muted">线索已照常登记，所在单位按图层原样记录。</p>
    <button type="button" class="link" id="clue-notice-close">知道了</button>`;
  box.hidden = false;
  $('clue-notice-close').addEventListener('click', hideClueNotice);
}

function hideClueNotice() {
  $('clue-notice').hidden = true;
  $('clue-notice').replaceChildren();
}

/** The clue route's own refusals in words; null for the others (errorText's). */
function clueRefusal(err) {
  const b = err.body ?? {};
  switch (err.code) {
    case 'CLUE.OUT_OF_SCOPE':
      return '只能登记本区县的线索';
    case 'CLUE.BAD_DATE':
      return '发现日期须在上月 1 日至今天之间（线索计入发现当月的台账）';
    case 'CLUE.TOO_LARGE':
      return '线索范围过大：一条线索对应一处地块，范围不超过 10 平方公里，东西、南北各不超过 5 公里';
    case 'CLUE.UNKNOWN_DISTRICT':
      return '没有这个区县：请选择批次或账号所属的区县';
    case 'CLUE.OUTSIDE_DISTRICT': {
      // The server names the district, how far outside, and the district the place lies in.
      const away = b.outside_m >= 1000 ? `${(b.outside_m / 1000).toFixed(1)} 公里` : `${b.outside_m ?? '?'} 米`;
      const where = b.share_inside !== undefined ? `所画范围只有 ${Math.round(b.share_inside * 100)}% 在${named(b.district)}内` : `所选位置在${named(b.district)}界外约 ${away}`;
      const there = b.lies_in ? `，位于${named(b.lies_in)}` : '，不在任何区县范围内';
      return `线索位置不在所选区县内：${where}${there}。请核对区县或重新选择位置（线索未登记）`;
    }
    case 'CLUE.OUTSIDE_TOWNSHIP': {
      // The server names the account's township and the township the place lies in.
      const there = b.lies_in ? `位于${b.lies_in.name || b.lies_in.code}` : '不在任何乡镇/街道范围内';
      return `线索位置不在本乡镇/街道（${b.township?.name ?? b.township?.code ?? ''}）内，${there}。请重新选择位置（线索未登记）`;
    }
    default:
      return null;
  }
}
