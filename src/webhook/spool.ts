// Deploy requests: the listener files one small JSON file per accepted push; the deploy (root)
// consumes them all once it holds the lock. The .path unit starts the deploy while any is pending.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, readdir, rm } from "node:fs/promises";
import path from "node:path";
import * as z from "zod/mini";
import { writeAtomic } from "../adapters/files.js";
import type { Logger } from "../log.js";

const RequestSchema = z.object({
  delivery: z.nullable(z.string().check(z.maxLength(100))),
  after: z.nullable(z.string().check(z.regex(/^[0-9a-f]{40,64}$/))),
  receivedAt: z.string().check(z.maxLength(40)),
  provider: z.enum(["github", "gitlab"]),
});
export type DeployRequest = z.infer<typeof RequestSchema>;

/** Pending requests beyond this add nothing: the deploy reads the branch tip after consuming them. */
export const MAX_PENDING = 50;
const MAX_FILE_BYTES = 4096;
const NAME = /^[0-9]+-[0-9a-f]+\.json$/;

async function pendingNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => NAME.test(n)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Files a request atomically (the .path unit never sees half a file); "collapsed" when enough are pending. */
export async function fileRequest(dir: string, request: DeployRequest): Promise<"filed" | "collapsed"> {
  if ((await pendingNames(dir)).length >= MAX_PENDING) return "collapsed";
  const name = `${Date.now()}-${randomBytes(6).toString("hex")}.json`;
  await writeAtomic(path.join(dir, name), JSON.stringify(request) + "\n", 0o600);
  return "filed";
}

// The spool is written by an unprivileged user and read by root: no symlinks, regular files, small.
async function readRequest(file: string): Promise<DeployRequest | null> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return null;
    const parsed = RequestSchema.safeParse(JSON.parse(await handle.readFile("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** Every pending request, oldest first; each file is removed, valid or not. */
export async function consumeRequests(dir: string, log: Logger): Promise<DeployRequest[]> {
  const requests: DeployRequest[] = [];
  for (const name of await pendingNames(dir)) {
    const file = path.join(dir, name);
    const request = await readRequest(file);
    await rm(file, { force: true });
    // Never the content: a hostile file could point anywhere.
    if (request) requests.push(request);
    else log.warn({ file }, "dropped an unreadable deploy request from the webhook spool");
  }
  return requests;
}

/** The history's trigger: "webhook (delivery ID, +N more)", or another trigger that also served requests. */
export function describeTrigger(base: string, requests: DeployRequest[]): string {
  const newest = requests.at(-1);
  if (!newest) return base;
  const more = requests.length > 1 ? `, +${requests.length - 1} more` : "";
  const delivery = `delivery ${newest.delivery ?? "without id"}${more}`;
  return base === "webhook" ? `webhook (${delivery})` : `${base} (+ webhook ${delivery})`;
}
