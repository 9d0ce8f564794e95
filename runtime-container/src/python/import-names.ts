/**
 * From an import name to what to install (auto_install). Most distributions are named like their module; these are the
 * well-known exceptions, plus imports that are typos of standard-library modules (nothing to install there).
 */
const DISTRIBUTIONS: Readonly<Record<string, string>> = {
  PIL: "Pillow",
  sklearn: "scikit-learn",
  skimage: "scikit-image",
  cv2: "opencv-python",
  bs4: "beautifulsoup4",
  yaml: "PyYAML",
  dateutil: "python-dateutil",
  dotenv: "python-dotenv",
  docx: "python-docx",
  pptx: "python-pptx",
  fitz: "PyMuPDF",
  Crypto: "pycryptodome",
  jwt: "PyJWT",
  magic: "python-magic",
  serial: "pyserial",
  usb: "pyusb",
  attr: "attrs",
  google: "protobuf",
};

const STDLIB_TYPOS: Readonly<Record<string, string>> = {
  dataclass: "dataclasses",
  collection: "collections",
  itertool: "itertools",
  functool: "functools",
  typings: "typing",
  datetimes: "datetime",
  maths: "math",
  randoms: "random",
  subprocesses: "subprocess",
};

export type ImportFix = { install: string } | { stdlib: string } | { none: true };

/** What to do about `import <module>` failing; `stdlib` is the interpreter's sys.stdlib_module_names. */
export function fixForImport(module: string, stdlib: ReadonlySet<string>): ImportFix {
  const top = module.split(".")[0] ?? module;
  if (Object.hasOwn(STDLIB_TYPOS, top)) return { stdlib: STDLIB_TYPOS[top] as string };
  if (stdlib.has(top)) return { none: true };
  return { install: Object.hasOwn(DISTRIBUTIONS, top) ? (DISTRIBUTIONS[top] as string) : top };
}

/** What to tell the caller after a MODULE_NOT_FOUND when nothing was installed for it. */
export function moduleNotFoundHint(module: string, stdlib: ReadonlySet<string> = new Set()): string {
  const fix = fixForImport(module, stdlib);
  if ("stdlib" in fix) return `Module '${module}' does not exist; did you mean the standard library's '${fix.stdlib}'?`;
  const pkg = "install" in fix ? fix.install : module;
  return (
    `Module '${module}' is not installed in this thread's environment. Install it first: pass ` +
    `"packages": ["${pkg}"] to run_python (or "options": {"auto_install": true}), or POST /v1/threads/:thread/packages.`
  );
}
