import { readerGone } from '../pipeline/log.js';

/**
 * `tuban report … | head -8`: the reader may close the pipe before the command has finished. The
 * next write then fails with EPIPE, which Node raises as an unhandled 'error' event: the process died
 * mid-work, leaving a `.tmp` beside an output file. What a command prints is only a copy of what it
 * did, so on EPIPE the stream is dropped (Node has destroyed it; later writes are ignored) and the
 * command finishes its work and exits with its own code, so `set -o pipefail` scripts see whether
 * the work succeeded. The same for EIO on a terminal that closed (`readerGone`). Any other write
 * error is still fatal.
 */
export function tolerateClosedOutput(stream: NodeJS.WriteStream): void {
  const wasTerminal = stream.isTTY === true;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (!readerGone(err, wasTerminal)) throw err;
  });
}
