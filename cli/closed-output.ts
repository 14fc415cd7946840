/**
 * `tuban report … | head -8`: the reader may close the pipe before the command has finished. The
 * next write then fails with EPIPE, which Node raises as an unhandled 'error' event: the process died
 * mid-work, leaving a `.tmp` beside an output file. What a command prints is only a copy of what it
 * did, so on EPIPE the stream is dropped (Node has destroyed it; later writes are ignored) and the
 * command finishes its work and exits with its own code, so `set -o pipefail` scripts see whether
 * the work succeeded. Any other write error is still fatal.
 */
export function tolerateClosedOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}
