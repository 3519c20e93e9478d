import { type ChildProcess, spawn } from 'node:child_process';

/** What a child process printed so far, and its exit. */
export interface CapturedOutput {
  /** stdout and stderr together, in the order they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/** Collects everything `child` prints (as UTF-8) from now on; its stdio must be pipes. */
export function captureOutput(child: ChildProcess): CapturedOutput {
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs a command to its end: its exit code and what it printed. */
export async function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
  const captured = captureOutput(child);
  // 'close': after the exit and the end of its output.
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}
