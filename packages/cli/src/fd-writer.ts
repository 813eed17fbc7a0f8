// The CLI's stdout and stderr. process.stdout costs 5 ms to set up for a pipe or a file (it loads
// node's stream and net modules): a fifth of what validate does with a small spec. On Linux node
// writes both synchronously anyway, so writing to the descriptor keeps the order and the semantics.
import { fstatSync, type Stats, statSync, writeSync } from "node:fs";

export interface FdWriter {
  write(s: string): boolean;
  readonly isTTY: boolean;
}

/**
 * Writes straight to fd until it would block (a non-blocking pipe that another process set up), then
 * leaves the rest, and everything after it, to node's own stream, which waits for the reader. A reader
 * that went away (`| head`) is not an error: the rest is dropped. Any other failure (a full disk) drops
 * the rest too, and is handed to lost once: the output is incomplete, which the caller says.
 */
export function fdWriter(fd: 1 | 2, stream: () => NodeJS.WriteStream, lost: (e: NodeJS.ErrnoException) => void = () => {}): FdWriter {
  let direct = true;
  let closed = false;
  let tty: boolean | undefined;
  const fail = (e: NodeJS.ErrnoException) => {
    if (closed) return;
    closed = true;
    if (e.code !== "EPIPE") lost(e);
  };
  return {
    write(s) {
      if (closed) return false;
      if (!direct) return stream().write(s);
      const bytes = Buffer.from(s, "utf8");
      let done = 0;
      try {
        while (done < bytes.length) done += writeSync(fd, bytes, done);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") {
          fail(e as NodeJS.ErrnoException);
          return false;
        }
        direct = false;
        // the stream's failures come as 'error' events: handled as the direct writes' above
        stream().on("error", fail);
        return stream().write(bytes.subarray(done));
      }
    },
    get isTTY() {
      // node:tty loads node's net and stream modules (4 ms): asked only of what may be a terminal
      tty ??= mayBeTerminal(fd) && process.getBuiltinModule("node:tty").isatty(fd);
      return tty;
    },
  };
}

/** A character device other than /dev/null: a pipe, a file or /dev/null is no terminal. */
export function mayBeTerminal(fd: number): boolean {
  let device: Stats;
  try {
    device = fstatSync(fd);
  } catch {
    return false;
  }
  if (!device.isCharacterDevice()) return false;
  try {
    return device.rdev !== statSync("/dev/null").rdev;
  } catch {
    return true; // no /dev/null to tell it from: isatty decides
  }
}
