/**
 * Errors of the imagery service, each with a stable code and the HTTP status it answers with
 * (after titiler's DEFAULT_STATUS_CODES: one table, read by the route's error mapping).
 * `statusCode` is the property Fastify's default error handler reads.
 */
export type ImageryErrorCode =
  | 'IMAGERY.EPOCH_UNKNOWN' // no batch with a stored plan for that month
  | 'IMAGERY.BAD_TILE' // z/x/y outside the pyramid
  | 'IMAGERY.BAD_REQUEST' // epoch, side or format not recognised
  | 'IMAGERY.POLYGON_UNKNOWN' // no polygon with that code (or not visible to the caller)
  | 'IMAGERY.NO_SOURCE'; // the polygon's tile is not in any stored plan

export const IMAGERY_STATUS: Record<ImageryErrorCode, number> = {
  'IMAGERY.EPOCH_UNKNOWN': 404,
  'IMAGERY.BAD_TILE': 400,
  'IMAGERY.BAD_REQUEST': 400,
  'IMAGERY.POLYGON_UNKNOWN': 404,
  'IMAGERY.NO_SOURCE': 404,
};

export class ImageryError extends Error {
  override readonly name = 'ImageryError';
  readonly statusCode: number;
  readonly code: ImageryErrorCode;
  constructor(code: ImageryErrorCode, message: string) {
    super(message);
    this.code = code;
    this.statusCode = IMAGERY_STATUS[code];
  }

  toJSON(): { statusCode: number; code: ImageryErrorCode; message: string } {
    return { statusCode: this.statusCode, code: this.code, message: this.message };
  }
}
