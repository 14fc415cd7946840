/**
 * The server's one error catalogue: every code the API can answer, with its HTTP status and a
 * message, defined once (after fastify's lib/errors.js). Routes throw `ApiError`; the app's one
 * error handler turns it into `{code, message}` with the catalogue's status.
 */
export const API_ERRORS = {
  'AUTH.REQUIRED': { status: 401, message: 'sign in first: POST /api/session, then send Authorization: Bearer <token>' },
  'AUTH.BAD_CREDENTIALS': { status: 401, message: 'unknown user, wrong password or disabled account' },
  'AUTH.TOKEN_INVALID': { status: 401, message: 'the token is malformed, forged or expired; sign in again' },
  'AUTH.FORBIDDEN': { status: 403, message: 'your role may not do this' },
  'AUTH.CROSS_ORIGIN': { status: 403, message: "a change authenticated by the session cookie must come from this server's own page (Origin or Referer naming its host); API clients send Authorization: Bearer <token>" },
  'AUTH.THROTTLED': { status: 429, message: 'too many failed sign-ins from your address (for this name, or for any); wait and try again' },
  'CASE.NOT_LEAD': { status: 403, message: 'only the lead bureau of this polygon may do this' },
  'POLYGON.NOT_FOUND': { status: 404, message: 'no such polygon (or not yours to see)' },
  'NOT_FOUND': { status: 404, message: 'no such route' },
  'MAP.NO_MVT': { status: 404, message: 'this database\'s PostGIS cannot write vector tiles (built without protobuf-c): use /api/map/polygons.geojson (GET /api/map/layer says which)' },
  'CASE.BAD_STATE': { status: 409, message: 'this action is not allowed in the polygon\'s current state' },
  'CASE.STALE': { status: 409, message: 'the polygon was changed since your page loaded it (If-Match names an older case version): load it again and decide on what it now says' },
  'CASE.VERDICT_MISMATCH': { status: 409, message: 'this action does not fit the recorded verdict' },
  'CASE.GEOMETRY_UNCHANGED': { status: 409, message: 'nothing to confirm: the outline has not changed since a batch last flagged it' },
  'CASE.SPLIT': { status: 409, message: 'the polygon is split: give each parcel its verdict' },
  'VALIDATION': { status: 400, message: 'the request does not match the schema' },
  'REQUEST.MALFORMED': { status: 400, message: 'the request line or a header is malformed: percent-encode non-ASCII text in the URL (encodeURIComponent)' },
  'BODY.MALFORMED': { status: 400, message: 'the request body is not valid JSON' },
  'BODY.TOO_LARGE': { status: 413, message: 'the request body is too large' },
  'BODY.UNSUPPORTED_TYPE': { status: 415, message: 'unsupported content type' },
  'EXPORT.TOO_LARGE': { status: 400, message: 'more polygons than one field file holds (20 000): choose a month, a status or 仅逾期' },
  'CURSOR.INVALID': { status: 400, message: 'the cursor is not one this server issued' },
  'SPLIT.OUTSIDE': { status: 400, message: 'a parcel lies (partly) outside its polygon' },
  'SPLIT.OVERLAP': { status: 400, message: 'two parcels overlap' },
  'SPLIT.INVALID_GEOMETRY': { status: 400, message: 'a parcel is not a valid polygon' },
  'PARCEL.NOT_FOUND': { status: 404, message: 'no such parcel' },
  'EVIDENCE.TOO_LARGE': { status: 413, message: 'the file is larger than the evidence size limit' },
  'EVIDENCE.BAD_TYPE': { status: 415, message: 'evidence must be a JPEG photo or a PDF document (checked by content)' },
  'EVIDENCE.BAD_NAME': { status: 400, message: 'the file name must be a plain name (no path, no control characters)' },
  'EVIDENCE.EMPTY': { status: 400, message: 'the uploaded file is empty' },
  'EVIDENCE.FILE_MISSING': { status: 500, message: "the evidence file is missing from the server's data directory; tell the administrator" },
  'CLUE.OUT_OF_SCOPE': { status: 403, message: 'you may only add clues for your own district' },
  'CLUE.UNKNOWN_DISTRICT': { status: 400, message: 'no batch or user knows this district code' },
  'CLUE.BAD_DATE': { status: 400, message: 'a clue is reported on a day from the start of last month to today' },
  'CLUE.TOO_LARGE': { status: 400, message: 'a clue outline covers one site: at most 10 km², and 5 km across' },
  'CLUE.OUTSIDE_DISTRICT': { status: 400, message: 'the clue does not lie in the district it names' },
  'CLUE.OUTSIDE_TOWNSHIP': { status: 400, message: "the clue does not lie in the township account's own township" },
  'USER.PASSWORD_TOO_SHORT': { status: 400, message: 'the password is too short' },
  'USER.EXISTS': { status: 409, message: 'a user of that name exists' },
  'USER.NOT_FOUND': { status: 404, message: 'no such user' },
  'USER.INVALID': { status: 400, message: 'invalid user' },
  'DB.UNAVAILABLE': { status: 503, message: 'the database does not answer (stopped or restarting); try again in a minute' },
  'INTERNAL': { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly extra?: Record<string, unknown>;
  constructor(code: ApiErrorCode, detail?: string, extra?: Record<string, unknown>) {
    super(detail ? `${API_ERRORS[code].message}: ${detail}` : API_ERRORS[code].message);
    this.code = code;
    this.extra = extra;
    this.status = API_ERRORS[code].status;
  }
}
