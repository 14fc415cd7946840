/**
 * Node's error codes for a server that is not there for now (stopped, restarting, its host or
 * network unreachable, a resolver not up yet): what PostgreSQL's client retries (open-database.ts)
 * and what a worker counts as Redis gone (workers/queue/start-worker.ts). A host name that does not
 * exist (ENOTFOUND) is not among them: that is the URL's, not the moment's.
 */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
