// Background processes in node containers, as shell snippets. A node's PID 1 is `sleep`, which never reaps, so a
// process that has exited stays a zombie and `kill -0` still finds it: "alive" means present and not a zombie.

/** Defines `alive PID` (exit 0 while the process runs). */
export const ALIVE_FN = 'alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s#Z}" = "$s" ]; }';

/**
 * A subshell that sends `signal` to the pid in `pidFile` and waits up to `timeoutS` for it to end; it fails if the
 * process is still there then.
 */
export function stopProcessScript(pidFile: string, signal: 'INT' | 'TERM' | 'KILL', timeoutS = 60): string {
  return (
    `(${ALIVE_FN}; p=$(cat ${pidFile}); alive $p || exit 0; kill -${signal} $p; ` +
    `for i in $(seq ${timeoutS * 10}); do alive $p || exit 0; sleep 0.1; done; echo "pid $p still running"; exit 1)`
  );
}
