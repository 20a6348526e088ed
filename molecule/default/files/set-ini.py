"""Set options in INI files in one go (the lab's ini_file for many keys).

Reads a JSON list of {path, section, option, value} from the environment
variable LAB_INI_SETTINGS (or stdin), edits each
file in place keeping its comments and order (Debian's files are mostly
comments), and prints the paths it changed. Lab scaffolding only.
"""
import json
import os
import re
import sys

changed = set()
by_path = {}
source = os.environ.get("LAB_INI_SETTINGS")
for setting in json.loads(source) if source else json.load(sys.stdin):
    by_path.setdefault(setting["path"], []).append(setting)

for path, settings in by_path.items():
    with open(path) as handle:
        lines = handle.read().splitlines()
    before = list(lines)
    for setting in settings:
        section, option = setting["section"], setting["option"]
        wanted = f"{option} = {setting['value']}".rstrip()
        current, header, last, done = None, None, None, False
        pattern = re.compile(rf"^\s*{re.escape(option)}\s*=")
        for number, line in enumerate(lines):
            match = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
            if match:
                current = match.group(1)
                if current == section:
                    header = last = number
                continue
            if current == section:
                if line.strip() and not line.lstrip().startswith(("#", ";")):
                    last = number
                if pattern.match(line):
                    lines[number] = wanted
                    done = True
                    break
        if done:
            continue
        if header is None:
            lines += ["", f"[{section}]", wanted]
        else:
            lines.insert(last + 1, wanted)
    if lines != before:
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        changed.add(path)

print("\n".join(sorted(changed)))
