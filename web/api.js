// The API client: JSON calls and raw uploads with the bearer token; a 401 signs the page out (and the call never settles).
import { ACTIONS as ACTION_NAMES } from './labels.js';
import { emit, state } from './state.js';

/** What the sign-in form says after the server stopped taking the session (a 401 to any request of the page's, the map's included). */
export const SESSION_EXPIRED = '登录已过期，请重新登录';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    /** The whole answer: some refusals say more than code and message (CASE.STALE: who changed the case). */
    this.body = body ?? {};
  }
}

/** The response of a call that succeeded; a refusal is thrown as ApiError. */
async function request(path, init) {
  const headers = { ...(init.headers ?? {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401 && path !== '/api/session') {
    // The page signs out and loads afresh (session.js): the caller never continues, and no
    // rejection is left unhandled behind the sign-in form.
    await emit('signed-out', SESSION_EXPIRED);
    return new Promise(() => {});
  }
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  return res;
}

async function send(path, init) {
  const res = await request(path, init);
  return res.status === 204 ? null : res.json();
}

/**
 * Save a file the server makes (the field file) under the name it gives. Fetched rather than a plain
 * link, so a refusal (too many polygons, an expired session) is said on the page, not saved as the file.
 */
export async function download(path) {
  const res = await request(path, {});
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'tuban-download';
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

export function api(path, { method = 'GET', body, headers = {} } = {}) {
  return send(path, { method, headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** A file as the raw request body (the evidence route), its type from the browser, else octet-stream (the server sniffs). */
export function upload(path, file) {
  return send(path, { method: 'POST', headers: { 'Content-Type': file.type || 'application/octet-stream' }, body: file });
}

/** An image behind the bearer token, as an object URL (an <img src> cannot carry the header). */
export async function authedImage(path) {
  const res = await fetch(path, { headers: state.token ? { Authorization: `Bearer ${state.token}` } : {} });
  if (!res.ok) throw new ApiError(res.status, null);
  return { url: URL.createObjectURL(await res.blob()), date: res.headers.get('x-sensor-date') };
}

/** A refusal in words a bureau user understands. */
export function errorText(err) {
  // The workflow's refusals in words (the code alone, CASE.BAD_STATE, told a bureau user nothing).
  if (err.code === 'CASE.VERDICT_MISMATCH') return '此操作与已录入的判定不符（违法图斑须先报整改进度，整改只适用于违法图斑）';
  if (err.code === 'CASE.SPLIT') return '图斑已分割为地块：请逐个地块判定';
  if (err.code === 'CASE.GEOMETRY_UNCHANGED') return '图形未再变化，无需确认';
  if (err.code === 'CASE.STALE') {
    const who = err.body.changed_by === 'system' ? '系统' : err.body.changed_by;
    const what = ACTION_NAMES[err.body.changed_action] ?? err.body.changed_action;
    return `此图斑在您打开后已被${who ? `${who}${what ? `（${what}）` : ''}` : '他人'}更新，您的提交未保存；页面已显示最新状态，请核对后再提交`;
  }
  if (err.code === 'CASE.BAD_STATE') return '图斑当前状态不允许此操作（可能已由他人办理），请返回列表重新打开查看最新状态';
  if (err.code === 'USER.EXISTS') return '已有同名用户';
  if (err.status === 409) return `当前状态不允许此操作（${err.code ?? ''}）`;
  if (err.status === 403) return '无权执行此操作';
  if (err.status === 404) return '没有这个图斑，或无权查看';
  if (err.code === 'EVIDENCE.TOO_LARGE') return '文件过大（单个文件不超过 20 MB）';
  if (err.code === 'EVIDENCE.BAD_TYPE') return '只接受 JPEG 照片或 PDF 文件';
  if (err.code === 'SPLIT.OUTSIDE') return '地块超出图斑范围';
  if (err.code === 'SPLIT.OVERLAP') return '地块之间有重叠';
  if (err.code === 'EXPORT.TOO_LARGE') return '筛选出的图斑超过 20000 个，一个文件装不下：请选择状态或「仅逾期」后再导出';
  if (err.code === 'VALIDATION') return '填写的内容不符合要求，请检查后再提交';
  return `操作失败：${err.message}`;
}
