import type { Config } from '../config/config.js';
import { serveUntilSignalled } from '../server.js';
import { parseOptions } from './main.js';

export async function serveCommand(args: string[], config: Config): Promise<number> {
  parseOptions(args, {});
  await serveUntilSignalled(config);
  // The open server keeps the process alive until a signal closes it.
  return 0;
}
