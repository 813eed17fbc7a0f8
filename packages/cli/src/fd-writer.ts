// The CLI's stdout and stderr. process.stdout costs 5 ms to set up for a pipe or a file (it loads
// node's stream and net modules): a fifth of what validate does with a small spec. On Linux node
// writes both synchronously anyway, so writing to the descriptor keeps the order and the semantics.
import { writeSync } from "node:fs";
import { isatty } from "node:tty";

export interface FdWriter {
  write(s: string): boolean;
  readonly isTTY: boolean;
}

/**
 * Writes straight to fd until it would block (a non-blocking pipe that another process set up), then
 * leaves the rest, and everything after it, to node's own stream, which waits for the reader. A reader
 * that went away (`| head`) is not an error: the rest is dropped.
 */
export function fdWriter(fd: 1 | 2, stream: () => NodeJS.WriteStream): FdWriter {
  let direct = true;
  let closed = false;
  let tty: boolean | undefined;
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
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EPIPE") {
          closed = true;
          return false;
        }
        if (code !== "EAGAIN") throw e;
        direct = false;
        // the stream says that its reader went away with an 'error' event: as quiet as the EPIPE above
        stream().on("error", (error: NodeJS.ErrnoException) => {
          if (error.code !== "EPIPE") throw error;
          closed = true;
        });
        return stream().write(bytes.subarray(done));
      }
    },
    get isTTY() {
      tty ??= isatty(fd);
      return tty;
    },
  };
}
