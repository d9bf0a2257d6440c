/**
 * A JSON reader for busybox awk, shipped in the guest as
 * /etc/stacklet/json.awk. It tokenises the document properly (strings with
 * escapes, nesting, pretty-printed or compact), so keys holding spaces, a
 * "}" inside a string, or a trailing "\n" in an SSH key are read right,
 * which line-oriented sed/grep extraction gets wrong.
 *
 * Usage: awk -v want=PATH -f json.awk FILE
 *   PATH "a/b" prints the scalar at a → b (array items by index: "a/0");
 *   PATH "a/*" prints every scalar directly under a, in document order.
 * Values are printed decoded, one per print (a value may span lines).
 * Options that save the guest a process each (every fork+exec costs
 * ~15 ms under TCG, on the boot path):
 *   -v alt=PATH       print PATH instead when want is absent (hostname → name);
 *   -v clean=hostname keep [A-Za-z0-9.-], at most 63 characters, first value only;
 *   -v lines=1        split values into lines, drop CRs and blank lines
 *                     (authorized_keys from public_keys values ending in "\n").
 * Exit status: 0 found, 1 not found, 2 malformed JSON.
 */
export const JSON_AWK = String.raw`{ doc = doc $0 "\n" }
END {
  n = length(doc); pos = 1; bad = 0; found = 0; kids = ""
  if (substr(want, length(want) - 1) == "/*") kids = substr(want, 1, length(want) - 2)
  value("")
  skipws()
  if (!bad && pos <= n) bad = 1
  if (bad) exit 2
  if (!found && althas && put(altv)) found = 1
  exit (found ? 0 : 1)
}
function put(v,   parts, k, i, line, any) {
  if (clean == "hostname") {
    if (printed) return 0
    gsub(/[^A-Za-z0-9.-]/, "", v)
    v = substr(v, 1, 63)
    if (v == "") return 0
    print v
    printed = 1
    return 1
  }
  if (lines) {
    any = 0
    k = split(v, parts, "\n")
    for (i = 1; i <= k; i++) {
      line = parts[i]
      gsub(/\r/, "", line)
      if (line ~ /[^ \t]/) { print line; any = 1 }
    }
    return any
  }
  print v
  return 1
}
function skipws(   c) {
  while (pos <= n) {
    c = substr(doc, pos, 1)
    if (c != " " && c != "\t" && c != "\n" && c != "\r") return
    pos++
  }
}
function hexval(h,   i, v, d) {
  v = 0
  for (i = 1; i <= 4; i++) {
    d = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
    if (d < 0) { bad = 1; return 63 }
    v = v * 16 + d
  }
  return v
}
function utf8(cp) {
  if (cp < 128) return sprintf("%c", cp)
  if (cp < 2048) return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
  return sprintf("%c%c%c", 224 + int(cp / 4096), 128 + int(cp / 64) % 64, 128 + cp % 64)
}
function str(   out, c) {
  out = ""
  pos++
  while (pos <= n) {
    c = substr(doc, pos, 1)
    if (c == "\"") { pos++; return out }
    if (c == "\\") {
      pos++
      c = substr(doc, pos, 1)
      if (c == "n") out = out "\n"
      else if (c == "t") out = out "\t"
      else if (c == "r") out = out "\r"
      else if (c == "b") out = out sprintf("%c", 8)
      else if (c == "f") out = out sprintf("%c", 12)
      else if (c == "u") { out = out utf8(hexval(substr(doc, pos + 1, 4))); pos += 4 }
      else out = out c
    } else out = out c
    pos++
  }
  bad = 1
  return out
}
function emit(path, v) {
  if (path == want || (kids != "" && index(path, kids "/") == 1 && index(substr(path, length(kids) + 2), "/") == 0)) {
    if (put(v)) found = 1
  } else if (alt != "" && path == alt && !althas) {
    altv = v
    althas = 1
  }
}
function value(path,   c, key, i, lit) {
  skipws()
  if (bad || pos > n) { bad = 1; return }
  c = substr(doc, pos, 1)
  if (c == "{") {
    pos++
    skipws()
    if (substr(doc, pos, 1) == "}") { pos++; return }
    while (!bad) {
      skipws()
      if (substr(doc, pos, 1) != "\"") { bad = 1; return }
      key = str()
      skipws()
      if (substr(doc, pos, 1) != ":") { bad = 1; return }
      pos++
      value((path == "") ? key : (path "/" key))
      skipws()
      c = substr(doc, pos, 1)
      pos++
      if (c == "}") return
      if (c != ",") { bad = 1; return }
    }
    return
  }
  if (c == "[") {
    pos++
    skipws()
    if (substr(doc, pos, 1) == "]") { pos++; return }
    for (i = 0; !bad; i++) {
      value((path == "") ? i : (path "/" i))
      skipws()
      c = substr(doc, pos, 1)
      pos++
      if (c == "]") return
      if (c != ",") { bad = 1; return }
    }
    return
  }
  if (c == "\"") { emit(path, str()); return }
  lit = substr(doc, pos, 64)
  if (match(lit, /^(true|false|null|-?[0-9][0-9.eE+-]*)/)) {
    lit = substr(lit, 1, RLENGTH)
    pos += RLENGTH
    if (lit != "null") emit(path, lit)
    return
  }
  bad = 1
}
`;
