// @ts-check
// Server-side printing: the meta.k8s.io/v1 Table a real API server answers when
// kubectl asks `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Columns
// and cell texts follow pkg/printers/internalversion/printers.go; custom
// resources use their CRD's additionalPrinterColumns (or Name and Age).

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {{ name: string, type: string, format: string, description: string, priority: number }} Column */
/** @typedef {{ columns: Column[], cells: (o: any) => unknown[] }} Printer */

/**
 * Go's duration.HumanDuration.
 * @param {number} ms
 */
export function humanDuration(ms) {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

/** @param {string | undefined} ts */
export function age(ts) {
  if (!ts) return '<unknown>';
  return humanDuration(Date.now() - Date.parse(ts));
}

/**
 * @param {string} name @param {string} [type] @param {number} [priority] @param {string} [format]
 * @returns {Column}
 */
const col = (name, type = 'string', priority = 0, format = '') => ({ name, type, format, description: `${name} of the object`, priority });

const NAME = { ...col('Name', 'string', 0, 'name'), description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names' };
const AGE = { ...col('Age'), description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

/** @param {Record<string, string> | undefined} m */
const labelsString = (m) => {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
};

/** @param {any} sel */
function selectorString(sel) {
  if (!sel) return '<none>';
  const parts = Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

/** @param {any} pod */
function podStatus(pod) {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  let reason = pod.status?.reason || pod.status?.phase || 'Unknown';
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
  }
  return reason;
}

/** @param {any} svc */
function externalIp(svc) {
  const spec = svc.spec ?? {};
  const ext = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
    case undefined:
      return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = (svc.status?.loadBalancer?.ingress ?? []).map((/** @type {any} */ i) => i.ip || i.hostname).filter(Boolean);
      const all = [...lb, ...ext];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** @param {any} svc */
function portsString(svc) {
  const ports = svc.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((/** @type {any} */ p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

/** @param {any} node */
function nodeStatus(node) {
  const ready = (node.status?.conditions ?? []).find((/** @type {any} */ c) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  if (node.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

/** @param {any} node */
function nodeRoles(node) {
  /** @type {string[]} */
  const roles = [];
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.push(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role') roles.push(String(v));
  }
  return roles.length ? [...new Set(roles)].sort().join(',') : '<none>';
}

/** @param {any} node @param {string} type */
const nodeAddress = (node, type) => (node.status?.addresses ?? []).find((/** @type {any} */ a) => a.type === type)?.address ?? '<none>';

/** @param {any} spec */
const containers = (spec) => /** @type {any[]} */ (spec?.template?.spec?.containers ?? []);

/** @param {any} job @param {string} type */
const jobHas = (job, type) => (job.status?.conditions ?? []).some((/** @type {any} */ c) => c.type === type && c.status === 'True');

/** The Status column of `kubectl get jobs` (Kubernetes 1.31+). @param {any} job */
function jobStatus(job) {
  if (jobHas(job, 'Complete')) return 'Complete';
  if (jobHas(job, 'Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (jobHas(job, 'Suspended')) return 'Suspended';
  if (jobHas(job, 'FailureTarget')) return 'FailureTarget';
  if (jobHas(job, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** @param {any} job */
function jobCompletions(job) {
  const done = job.status?.succeeded ?? 0;
  if (job.spec?.completions !== undefined && job.spec?.completions !== null) return `${done}/${job.spec.completions}`;
  const par = job.spec?.parallelism ?? 0;
  return par > 1 ? `${done}/1 of ${par}` : `${done}/1`;
}

/** @param {any} job */
function jobDuration(job) {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : Date.now();
  return humanDuration(end - Date.parse(start));
}

/** @param {unknown} v */
const intOrNA = (v) => (v === undefined || v === null ? 'N/A' : String(v));

/** @type {Record<string, Printer>} by "group/Kind" */
const PRINTERS = {
  'batch/Job': {
    columns: [NAME, col('Status'), col('Completions'), col('Duration'), AGE, col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    cells: (o) => [o.metadata.name, jobStatus(o), jobCompletions(o), jobDuration(o), age(o.metadata.creationTimestamp),
      containers(o.spec).map((c) => c.name).join(','), containers(o.spec).map((c) => c.image).join(','), selectorString(o.spec?.selector)],
  },
  'batch/CronJob': {
    columns: [NAME, col('Schedule'), col('Timezone'), col('Suspend', 'boolean'), col('Active', 'integer'), col('Last Schedule'), AGE, col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    cells: (o) => [o.metadata.name, o.spec?.schedule ?? '', o.spec?.timeZone ?? '<none>', o.spec?.suspend ? 'True' : 'False',
      (o.status?.active ?? []).length, o.status?.lastScheduleTime ? age(o.status.lastScheduleTime) : '<none>', age(o.metadata.creationTimestamp),
      containers(o.spec?.jobTemplate?.spec).map((c) => c.name).join(','), containers(o.spec?.jobTemplate?.spec).map((c) => c.image).join(','),
      selectorString(o.spec?.jobTemplate?.spec?.selector)],
  },
  'policy/PodDisruptionBudget': {
    columns: [NAME, col('Min Available'), col('Max Unavailable'), col('Allowed Disruptions', 'integer'), AGE],
    cells: (o) => [o.metadata.name, intOrNA(o.spec?.minAvailable), intOrNA(o.spec?.maxUnavailable), o.status?.disruptionsAllowed ?? 0, age(o.metadata.creationTimestamp)],
  },
  'networking.k8s.io/IngressClass': {
    columns: [NAME, col('Controller'), col('Parameters'), AGE],
    cells: (o) => [o.metadata.name, o.spec?.controller ?? '', o.spec?.parameters ? `${o.spec.parameters.kind}/${o.spec.parameters.name}` : '<none>', age(o.metadata.creationTimestamp)],
  },
  '/Pod': {
    columns: [NAME, col('Ready'), col('Status'), col('Restarts'), AGE, col('IP', 'string', 1), col('Node', 'string', 1), col('Nominated Node', 'string', 1), col('Readiness Gates', 'string', 1)],
    cells: (o) => {
      const total = (o.spec?.containers ?? []).length;
      const statuses = o.status?.containerStatuses ?? [];
      const ready = statuses.filter((/** @type {any} */ c) => c.ready).length;
      const restarts = statuses.reduce((/** @type {number} */ n, /** @type {any} */ c) => n + (c.restartCount ?? 0), 0);
      return [o.metadata.name, `${ready}/${total}`, podStatus(o), String(restarts), age(o.metadata.creationTimestamp),
        o.status?.podIP ?? '<none>', o.spec?.nodeName ?? '<none>', o.status?.nominatedNodeName ?? '<none>', '<none>'];
    },
  },
  '/Service': {
    columns: [NAME, col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), AGE, col('Selector', 'string', 1)],
    cells: (o) => [o.metadata.name, o.spec?.type ?? 'ClusterIP', o.spec?.clusterIP || '<none>', externalIp(o), portsString(o),
      age(o.metadata.creationTimestamp), labelsString(o.spec?.selector)],
  },
  'apps/Deployment': {
    columns: [NAME, col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), AGE, col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    cells: (o) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0,
      o.status?.availableReplicas ?? 0, age(o.metadata.creationTimestamp), containers(o.spec).map((c) => c.name).join(','),
      containers(o.spec).map((c) => c.image).join(','), selectorString(o.spec?.selector)],
  },
  'apps/ReplicaSet': {
    columns: [NAME, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), AGE, col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    cells: (o) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o.metadata.creationTimestamp),
      containers(o.spec).map((c) => c.name).join(','), containers(o.spec).map((c) => c.image).join(','), selectorString(o.spec?.selector)],
  },
  'apps/DaemonSet': {
    columns: [NAME, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Node Selector'), AGE, col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    cells: (o) => [o.metadata.name, o.status?.desiredNumberScheduled ?? 0, o.status?.currentNumberScheduled ?? 0, o.status?.numberReady ?? 0,
      o.status?.updatedNumberScheduled ?? 0, o.status?.numberAvailable ?? 0, labelsString(o.spec?.template?.spec?.nodeSelector),
      age(o.metadata.creationTimestamp), containers(o.spec).map((c) => c.name).join(','), containers(o.spec).map((c) => c.image).join(','),
      selectorString(o.spec?.selector)],
  },
  '/Node': {
    columns: [NAME, col('Status'), col('Roles'), AGE, col('Version'), col('Internal-IP', 'string', 1), col('External-IP', 'string', 1), col('OS-Image', 'string', 1), col('Kernel-Version', 'string', 1), col('Container-Runtime', 'string', 1)],
    cells: (o) => [o.metadata.name, nodeStatus(o), nodeRoles(o), age(o.metadata.creationTimestamp), o.status?.nodeInfo?.kubeletVersion ?? '',
      nodeAddress(o, 'InternalIP'), nodeAddress(o, 'ExternalIP'), o.status?.nodeInfo?.osImage ?? '<unknown>',
      o.status?.nodeInfo?.kernelVersion ?? '<unknown>', o.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>'],
  },
  '/Namespace': {
    columns: [NAME, col('Status'), AGE],
    cells: (o) => [o.metadata.name, o.status?.phase ?? 'Active', age(o.metadata.creationTimestamp)],
  },
  '/Secret': {
    columns: [NAME, col('Type'), col('Data', 'integer'), AGE],
    cells: (o) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age(o.metadata.creationTimestamp)],
  },
  '/ConfigMap': {
    columns: [NAME, col('Data', 'integer'), AGE],
    cells: (o) => [o.metadata.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age(o.metadata.creationTimestamp)],
  },
  '/ServiceAccount': {
    columns: [NAME, col('Secrets', 'integer'), AGE],
    cells: (o) => [o.metadata.name, (o.secrets ?? []).length, age(o.metadata.creationTimestamp)],
  },
  '/Endpoints': {
    columns: [NAME, col('Endpoints'), AGE],
    cells: (o) => {
      /** @type {string[]} */
      const eps = [];
      for (const s of o.subsets ?? []) for (const a of s.addresses ?? []) for (const p of s.ports ?? [{}]) eps.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      return [o.metadata.name, eps.length ? eps.slice(0, 3).join(',') + (eps.length > 3 ? ` + ${eps.length - 3} more...` : '') : '<none>', age(o.metadata.creationTimestamp)];
    },
  },
  '/Event': {
    columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Subobject', 'string', 1), col('Source', 'string', 1), col('Message'), col('First Seen', 'string', 1), col('Count', 'string', 1), { ...NAME, priority: 1 }],
    cells: (o) => [age(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp), o.type ?? '', o.reason ?? '',
      `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`, o.involvedObject?.fieldPath ?? '',
      o.source?.component ?? o.reportingComponent ?? '', o.message ?? '', age(o.firstTimestamp ?? o.metadata.creationTimestamp),
      String(o.count ?? 1), o.metadata.name],
  },
  'apiextensions.k8s.io/CustomResourceDefinition': {
    columns: [NAME, col('Created At', 'date')],
    cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
  'coordination.k8s.io/Lease': {
    columns: [NAME, col('Holder'), AGE],
    cells: (o) => [o.metadata.name, o.spec?.holderIdentity ?? '', age(o.metadata.creationTimestamp)],
  },
  'discovery.k8s.io/EndpointSlice': {
    columns: [NAME, col('AddressType'), col('Ports'), col('Endpoints'), AGE],
    cells: (o) => [o.metadata.name, o.addressType ?? '', (o.ports ?? []).map((/** @type {any} */ p) => p.port).join(',') || '<unset>',
      (o.endpoints ?? []).flatMap((/** @type {any} */ e) => e.addresses ?? []).slice(0, 3).join(',') || '<unset>', age(o.metadata.creationTimestamp)],
  },
  'rbac.authorization.k8s.io/ClusterRole': { columns: [NAME, col('Created At', 'date')], cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''] },
  'rbac.authorization.k8s.io/Role': { columns: [NAME, col('Created At', 'date')], cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''] },
  'rbac.authorization.k8s.io/ClusterRoleBinding': {
    columns: [NAME, col('Role'), AGE],
    cells: (o) => [o.metadata.name, `${o.roleRef?.kind ?? ''}/${o.roleRef?.name ?? ''}`, age(o.metadata.creationTimestamp)],
  },
  'rbac.authorization.k8s.io/RoleBinding': {
    columns: [NAME, col('Role'), AGE],
    cells: (o) => [o.metadata.name, `${o.roleRef?.kind ?? ''}/${o.roleRef?.name ?? ''}`, age(o.metadata.creationTimestamp)],
  },
};

/**
 * A small JSONPath evaluator for additionalPrinterColumns: `.a.b`, `.a[0].b`,
 * `.a[*].b` and `.a[?(@.type=="Ready")].status`.
 * @param {unknown} obj @param {string} path
 * @returns {unknown[]} all values found
 */
export function jsonPathValues(obj, path) {
  const p = path.trim().replace(/^\{|\}$/g, '').replace(/^\$/, '');
  /** @type {unknown[]} */
  let cur = [obj];
  const re = /\.([A-Za-z0-9_\-$]+)|\[(\d+)\]|\[\*\]|\[\?\(@\.([A-Za-z0-9_.\-]+)\s*==\s*["']?([^"')]*)["']?\)\]|\['([^']+)'\]/g;
  let m;
  let pos = 0;
  while ((m = re.exec(p))) {
    if (m.index !== pos) return [];
    pos = re.lastIndex;
    /** @type {unknown[]} */
    const next = [];
    for (const c of cur) {
      const o = /** @type {any} */ (c);
      if (o === null || o === undefined) continue;
      if (m[1] !== undefined || m[5] !== undefined) { const k = m[1] ?? m[5]; if (o[k] !== undefined) next.push(o[k]); }
      else if (m[2] !== undefined) { if (Array.isArray(o) && o[Number(m[2])] !== undefined) next.push(o[Number(m[2])]); }
      else if (m[0] === '[*]') { if (Array.isArray(o)) next.push(...o); else if (typeof o === 'object') next.push(...Object.values(o)); }
      else if (m[3] !== undefined && Array.isArray(o)) {
        for (const item of o) {
          let v = item;
          for (const k of m[3].split('.')) v = v?.[k];
          if (v !== undefined && String(v) === m[4]) next.push(item);
        }
      }
    }
    cur = next;
  }
  return pos === p.length ? cur : [];
}

/**
 * A printer for a custom resource from its CRD version.
 * @param {any} crd @param {string} version
 * @returns {Printer}
 */
function crdPrinter(crd, version) {
  const v = (crd?.spec?.versions ?? []).find((/** @type {any} */ x) => x.name === version);
  /** @type {any[]} */
  const extra = v?.additionalPrinterColumns ?? [];
  if (!extra.length) return { columns: [NAME, AGE], cells: (o) => [o.metadata.name, age(o.metadata.creationTimestamp)] };
  return {
    columns: [NAME, ...extra.map((c) => ({ name: c.name, type: c.type === 'date' ? 'date' : c.type ?? 'string', format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 }))],
    cells: (o) => [o.metadata.name, ...extra.map((c) => {
      const vals = jsonPathValues(o, c.jsonPath ?? '');
      if (!vals.length) return null;
      const x = vals[0];
      if (c.type === 'date' && typeof x === 'string') return age(x);
      if (typeof x === 'object') return JSON.stringify(x);
      return x;
    })],
  };
}

/**
 * @param {import('./builtin.mjs').ResourceInfo} info
 * @param {string} version
 * @param {KubeObject[]} objects
 * @param {{ resourceVersion: string, includeObject?: string | null, apiVersion: string }} opts
 */
export function toTable(info, version, objects, opts) {
  const printer = info.crd ? crdPrinter(info.crd, version) : PRINTERS[`${info.group}/${info.kind}`] ?? {
    columns: [NAME, AGE], cells: (/** @type {any} */ o) => [o.metadata.name, age(o.metadata.creationTimestamp)],
  };
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: printer.columns,
    rows: objects.map((o) => {
      /** @type {Record<string, unknown>} */
      const row = { cells: printer.cells(o) };
      if (include === 'Object') row.object = { ...o, apiVersion: opts.apiVersion, kind: info.kind };
      else if (include !== 'None') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
      return row;
    }),
  };
}
