#!/usr/bin/env python3
# Run by test/support/snapshot.ts inside a test server, as root: a record of the type, owner, mode and
# content (sha256 of a regular file, target of a symlink) of every entry under some roots, to show
# what an attack changed outside the app's own tree, and to put owners and modes back afterwards.
#
#   snapshot.py take NAME CONFIG_JSON   walk the roots, store the snapshot as NAME; print its size
#   snapshot.py diff A B                print the changes from snapshot A to snapshot B (JSON)
#   snapshot.py restore NAME CONFIG_JSON
#       walk again; give changed entries their owner and mode in NAME back and remove entries NAME
#       did not have; print what was restored, removed and what could not be (JSON)
#
# CONFIG_JSON: {"roots": [...], "exclude": [...]}; an exclude is a path (it and all below it) or a
# shell glob matched against whole paths (and, for a directory, all below it).
#
# Hashing the whole of /root takes most of a minute, so a file's hash is reused from the last walk
# when its inode, size, mtime and ctime are all the same: any write, chmod, chown or rename sets the
# ctime to now, and nobody but the clock's owner can set it back.
import fnmatch
import hashlib
import json
import os
import pwd
import grp
import shutil
import stat
import sys

STORE = "/run/rf-snapshot"
CACHE = os.path.join(STORE, "cache.json")

TYPES = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "chardev",
    stat.S_IFBLK: "blockdev",
}


def excluded(path, exclude):
    for pattern in exclude:
        if any(c in pattern for c in "*?["):
            if fnmatch.fnmatchcase(path, pattern):
                return True
        elif path == pattern or path.startswith(pattern.rstrip("/") + "/"):
            return True
    return False


def sha256_of(path):
    # Never follow, never block on a FIFO swapped in meanwhile, never change atime.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        fd = os.open(path, flags & ~getattr(os, "O_NOATIME", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not-a-regular-file"
        h = hashlib.sha256()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return h.hexdigest()
            h.update(chunk)
    finally:
        os.close(fd)


def walk(config, cache):
    """path -> [type, uid, gid, mode, content, ino, size, mtime_ns, ctime_ns]"""
    entries = {}
    exclude = config["exclude"]

    def visit(path):
        if excluded(path, exclude):
            return
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        kind = TYPES.get(stat.S_IFMT(st.st_mode), "other")
        key = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        content = ""
        if kind == "file":
            old = cache.get(path)
            if old and old[0] == "file" and old[5:9] == key:
                content = old[4]
            else:
                try:
                    content = sha256_of(path)
                except OSError as e:
                    content = "unreadable: " + e.strerror
        elif kind == "symlink":
            content = os.readlink(path)
        entries[path] = [kind, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), content] + key
        if kind == "dir":
            try:
                names = sorted(os.listdir(path))
            except OSError:
                return
            for name in names:
                visit(os.path.join(path, name))

    for root in config["roots"]:
        visit(root)
    return entries


def load(name, missing_ok=False):
    try:
        with open(os.path.join(STORE, name + ".json")) as f:
            return json.load(f)
    except FileNotFoundError:
        if missing_ok:
            return {}
        sys.exit("snapshot.py: no snapshot named %s" % name)  # restore would remove everything


def save(name, entries):
    os.makedirs(STORE, mode=0o700, exist_ok=True)
    os.chmod(STORE, 0o700)  # the snapshot holds hashes of root-only files
    tmp = os.path.join(STORE, name + ".json.tmp")
    with open(tmp, "w") as f:
        json.dump(entries, f, separators=(",", ":"))
    os.replace(tmp, os.path.join(STORE, name + ".json"))


def take(config, name="cache"):
    entries = walk(config, load("cache", missing_ok=True))
    save(name, entries)
    if name != "cache":  # the next walk's cache: this snapshot, without writing it twice
        tmp = os.path.join(STORE, "cache.json.tmp")
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.link(os.path.join(STORE, name + ".json"), tmp)
        os.replace(tmp, CACHE)
    return entries


def user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def describe(e):
    if e is None:
        return None
    kind, uid, gid, mode, content = e[:5]
    text = "%s %s:%s %04o" % (kind, user(uid), group(gid), mode)
    if kind == "file":
        text += " sha256:" + content[:16]
    elif kind == "symlink":
        text += " -> " + content
    return text


def changes(a, b):
    out = []
    for path in sorted(set(a) | set(b)):
        before, after = a.get(path), b.get(path)
        if before is not None and after is not None and before[:5] == after[:5]:
            continue
        out.append({"path": path, "before": describe(before), "after": describe(after)})
    return out


def restore(base, config):
    now = take(config)
    done = {"restored": [], "removed": [], "left": []}
    for path in sorted(set(base) | set(now)):
        before, after = base.get(path), now.get(path)
        if before is not None and after is not None and before[:5] == after[:5]:
            continue
        if before is None:
            parent = os.path.dirname(path)
            if parent in now and parent not in base:
                continue  # removed with its parent
            try:
                if after[0] == "dir":
                    shutil.rmtree(path)  # never follows a symlink inside
                else:
                    os.unlink(path)
                done["removed"].append(path)
            except OSError as e:
                done["left"].append("%s: could not remove: %s" % (path, e.strerror))
        elif after is None or before[0] != after[0] or before[4] != after[4]:
            done["left"].append("%s: was %s, now %s" % (path, describe(before), describe(after)))
        else:
            try:
                os.lchown(path, before[1], before[2])
                if before[0] != "symlink":
                    os.chmod(path, before[3])
                done["restored"].append("%s: %s -> %s" % (path, describe(after), describe(before)))
            except OSError as e:
                done["left"].append("%s: could not restore: %s" % (path, e.strerror))
    return done


def main(argv):
    command = argv[1]
    if command == "take":
        entries = take(json.loads(argv[3]), argv[2])
        print(len(entries))
    elif command == "diff":
        print(json.dumps(changes(load(argv[2]), load(argv[3]))))
    elif command == "restore":
        print(json.dumps(restore(load(argv[2]), json.loads(argv[3]))))
    else:
        sys.exit("usage: snapshot.py take NAME CONFIG | diff A B | restore NAME CONFIG")


if __name__ == "__main__":
    main(sys.argv)
