// Deploy requests: the listener files one small JSON file per accepted push; the deploy (root)
// consumes them all once it holds the lock. The .path unit starts the deploy while any is pending.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import * as z from "zod/mini";
import { writeAtomic } from "../adapters/files.js";
import { WEBHOOK_PROVIDERS } from "../config/types.js";
import { RfError } from "../errors.js";
import type { Logger } from "../log.js";

// The listener's user (or whoever took it over) writes these: every field is checked again here,
// and what reaches `history` is plainly an id, never control characters.
const RequestSchema = z.object({
  delivery: z.nullable(z.string().check(z.regex(/^[A-Za-z0-9._:-]{1,100}$/))),
  after: z.nullable(z.string().check(z.regex(/^[0-9a-f]{40,64}$/))),
  receivedAt: z.string().check(z.regex(/^[0-9A-Za-z:.+-]{1,40}$/)),
  provider: z.enum(WEBHOOK_PROVIDERS),
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

// systemd's range for DynamicUser= (the listener's user); see systemd's docs on users.
export const DYNAMIC_UID_MIN = 61184;
export const DYNAMIC_UID_MAX = 65519;

const listenerOrUs = (uid: number) =>
  uid === process.geteuid?.() || (uid >= DYNAMIC_UID_MIN && uid <= DYNAMIC_UID_MAX);

export interface SpoolTrust {
  /** Root's own directory the spool lies below (/var/lib): every directory under it is checked. */
  top: string;
  /** Owners allowed on the way besides root: by default this process's and systemd's dynamic users. */
  owner?: (uid: number) => boolean;
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK;
const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

/** An entry of an opened directory, reached through the descriptor: openat(2) for Node. */
const beneath = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

function refuse(dir: string, problem: string, setAside?: string): RfError {
  const aside = setAside ? `; set aside as ${setAside}` : "";
  return new RfError("STATE", `webhook spool ${dir}: ${problem}; its requests are not read${aside}`, {
    hint:
      "someone with the webhook listener's user changed its state directory: look at what is there; " +
      "the listener makes a new spool with its next request",
  });
}

/**
 * The spool directory, opened one component at a time below `top` without following a symlink,
 * each a directory owned by root, us or the listener's user, writable by no one else. Null when
 * it does not exist (nothing pending); throws when it is not what the listener would have made.
 * A refused spool itself (what the listener's user can change) is renamed aside through its
 * parent's descriptor, so the .path unit, which follows links, stops starting deploys for it.
 */
async function openSpool(dir: string, trust: SpoolTrust): Promise<FileHandle | null> {
  const rel = path.relative(trust.top, dir);
  if (!rel || rel.startsWith("..") || path.isAbsolute(rel)) throw refuse(dir, `not below ${trust.top}`);
  const ownerOk = (uid: number) => uid === 0 || (trust.owner ?? listenerOrUs)(uid);
  const parts = rel.split(path.sep);
  let parent: FileHandle | undefined;
  let handle: FileHandle | undefined = await open(trust.top, O_RDONLY | O_DIRECTORY);
  let here = trust.top;
  const fail = async (i: number, part: string, problem: string): Promise<never> => {
    const last = i === parts.length - 1;
    const aside = `${part}.refused-${Date.now()}`;
    // rename(2) moves the entry itself, whatever it is, and follows nothing.
    const moved =
      last && parent
        ? await rename(beneath(parent, part), beneath(parent, aside)).then(
            () => true,
            () => false,
          )
        : false;
    throw refuse(dir, problem, moved ? path.join(path.dirname(here), aside) : undefined);
  };
  try {
    for (const [i, part] of parts.entries()) {
      here = path.join(here, part);
      let next: FileHandle;
      try {
        next = await open(beneath(handle, part), DIR_FLAGS);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return null;
        if (code !== "ELOOP" && code !== "ENOTDIR") throw e;
        // O_DIRECTORY|O_NOFOLLOW fails the same way on a symlink and a file: lstat says which.
        const link = await lstat(beneath(handle, part)).then(
          (st) => st.isSymbolicLink(),
          () => false,
        );
        await parent?.close();
        parent = handle;
        handle = undefined;
        return await fail(i, part, `${here} is ${link ? "a symlink" : "not a directory"}`);
      }
      await parent?.close();
      parent = handle;
      handle = next;
      const st = await handle.stat();
      if (!ownerOk(st.uid)) return await fail(i, part, `${here} is owned by uid ${st.uid}`);
      if ((st.mode & 0o022) !== 0)
        return await fail(
          i,
          part,
          `${here} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`,
        );
    }
    const spool = handle;
    handle = undefined;
    return spool;
  } finally {
    await handle?.close();
    await parent?.close();
  }
}

// One request file: no symlink, FIFO or device, not a hard link to someone else's file, small.
async function readRequest(dir: FileHandle, name: string, owner: number): Promise<DeployRequest | null> {
  let handle;
  try {
    handle = await open(beneath(dir, name), FILE_FLAGS);
  } catch {
    return null;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_FILE_BYTES || st.nlink !== 1) return null;
    if (st.uid !== owner && st.uid !== 0) return null;
    const parsed = RequestSchema.safeParse(JSON.parse(await handle.readFile("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/**
 * Every pending request, oldest first; each file is removed, valid or not. Root runs this on a
 * directory another user writes: it works through a descriptor of the checked directory, so a
 * directory or file swapped for a symlink is never read through nor deleted through.
 */
export async function consumeRequests(dir: string, log: Logger, trust: SpoolTrust): Promise<DeployRequest[]> {
  const spool = await openSpool(dir, trust);
  if (!spool) return [];
  const requests: DeployRequest[] = [];
  try {
    const owner = (await spool.stat()).uid;
    const names = (await readdir(`/proc/self/fd/${spool.fd}`)).filter((n) => NAME.test(n)).sort();
    for (const name of names) {
      const request = await readRequest(spool, name, owner);
      // unlink(2) removes the entry itself, whatever it is; never what a symlink points to.
      await unlink(beneath(spool, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      // Never the content: a hostile file could hold anything.
      if (request) requests.push(request);
      else
        log.warn(
          { file: path.join(dir, name) },
          "dropped an unreadable deploy request from the webhook spool",
        );
    }
  } finally {
    await spool.close();
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
