/**
 * From an import name to what to install (auto_install). Most distributions are named like their module; these are the
 * well-known exceptions, plus imports that are typos of standard-library modules (nothing to install there).
 */
const DISTRIBUTIONS: Readonly<Record<string, string>> = {
  PIL: "pillow",
  sklearn: "scikit-learn",
  skimage: "scikit-image",
  // A server has no display for cv2.imshow; the headless build needs no X or Qt libraries.
  cv2: "opencv-python-headless",
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
  Bio: "biopython",
  OpenSSL: "pyOpenSSL",
  MySQLdb: "mysqlclient",
  psycopg2: "psycopg2-binary",
  dns: "dnspython",
  nacl: "PyNaCl",
  git: "GitPython",
  zmq: "pyzmq",
  grpc: "grpcio",
  websocket: "websocket-client",
  socketio: "python-socketio",
  slugify: "python-slugify",
  multipart: "python-multipart",
  markdown_it: "markdown-it-py",
  speech_recognition: "SpeechRecognition",
  mpl_toolkits: "matplotlib",
  pkg_resources: "setuptools",
  umap: "umap-learn",
  faiss: "faiss-cpu",
  Xlib: "python-xlib",
  OpenGL: "PyOpenGL",
  gi: "PyGObject",
  wx: "wxPython",
  telegram: "python-telegram-bot",
  // `google` is a namespace many distributions share: the dotted names are exact, the bare one the likeliest.
  google: "protobuf",
  "google.protobuf": "protobuf",
  "google.genai": "google-genai",
  "google.generativeai": "google-generativeai",
  "google.cloud.storage": "google-cloud-storage",
  "google.cloud.bigquery": "google-cloud-bigquery",
};

/** Imports that are typos of standard-library modules, or their Python 2 names: nothing to install there. */
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
  urllib2: "urllib.request",
  urlparse: "urllib.parse",
  httplib: "http.client",
  ConfigParser: "configparser",
  Queue: "queue",
  cPickle: "pickle",
  StringIO: "io",
  cStringIO: "io",
  Tkinter: "tkinter",
  SocketServer: "socketserver",
  HTMLParser: "html.parser",
  __builtin__: "builtins",
};

/** The entry for the longest dotted prefix of `module` in `table` (`google.cloud.storage.blob` → its distribution). */
function lookup(table: Readonly<Record<string, string>>, module: string): string | undefined {
  const parts = module.split(".");
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join(".");
    if (Object.hasOwn(table, name)) return table[name];
  }
  return undefined;
}

export type ImportFix = { install: string } | { stdlib: string } | { none: true };

/** What to do about `import <module>` failing; `stdlib` is the interpreter's sys.stdlib_module_names. */
export function fixForImport(module: string, stdlib: ReadonlySet<string>): ImportFix {
  const top = module.split(".")[0] ?? module;
  if (Object.hasOwn(STDLIB_TYPOS, top)) return { stdlib: STDLIB_TYPOS[top] as string };
  if (stdlib.has(top)) return { none: true };
  return { install: lookup(DISTRIBUTIONS, module) ?? top };
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
