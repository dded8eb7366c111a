// Deck's stage configuration: the fields every stage has (name, Depends On, what happens when it fails, timeout,
// conditional on expression) and a form for each core stage type, in Deck's words. Every type, known here or not,
// also has "Edit stage as JSON" (configure.js).

import { h } from '../dom.js';
import { field, fields, labelled } from './fields.js';

const PROVIDERS = ['aws', 'gce', 'kubernetes'];
const TARGETS = [['current_asg_dynamic', 'Newest Server Group'], ['ancestor_asg_dynamic', 'Previous Server Group'],
  ['oldest_asg_dynamic', 'Oldest Server Group'], ['current_asg', 'Newest Server Group (static)']];
const LOCATION = [
  { key: 'cloudProvider', label: 'Provider', kind: 'select', options: PROVIDERS },
  { key: 'credentials', label: 'Account' },
  { key: 'cluster', label: 'Cluster' },
  { key: 'regions', label: 'Regions', kind: 'list', help: 'comma separated' },
  { key: 'target', label: 'Target', kind: 'select', options: TARGETS },
];

/** The form of each core stage type: its fields in Deck's words. */
export const STAGE_FORMS = {
  wait: [
    { key: 'waitTime', label: 'Wait time (seconds)', kind: 'number', help: 'a number, or an expression' },
    { key: 'skipWaitText', label: 'Skip wait text', kind: 'textarea', help: 'shown to whoever skips the wait' },
  ],
  manualJudgment: [
    { key: 'instructions', label: 'Instructions', kind: 'textarea' },
    { key: 'judgmentInputs', label: 'Judgment inputs', kind: 'inputs', help: 'one choice per line, offered with Continue and Stop' },
    { key: 'propagateAuthenticationContext', label: 'Propagate authentication' , kind: 'checkbox' },
    { key: 'selectedStageRoles', label: 'Authorized groups', kind: 'list', help: 'roles allowed to judge, comma separated' },
  ],
  webhook: [
    { key: 'url', label: 'Webhook URL' },
    { key: 'method', label: 'Method', kind: 'select', options: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    { key: 'customHeaders', label: 'Custom headers', kind: 'json' },
    { key: 'payload', label: 'Payload', kind: 'json', expect: 'any' },
    { key: 'failFastStatusCodes', label: 'Fail fast HTTP statuses', kind: 'list' },
    { key: 'waitForCompletion', label: 'Wait for completion', kind: 'checkbox' },
    { key: 'statusUrlResolution', label: 'Status URL', kind: 'select',
      options: [['getMethod', 'GET method against webhook URL'], ['locationHeader', 'From the Location header'], ['webhookResponse', 'From webhook\'s response']] },
    { key: 'statusUrlJsonPath', label: 'Status URL JSON path' },
    { key: 'statusJsonPath', label: 'Status JSON path' },
    { key: 'progressJsonPath', label: 'Progress location' },
    { key: 'successStatuses', label: 'SUCCESS status mapping' },
    { key: 'canceledStatuses', label: 'CANCELED status mapping' },
    { key: 'terminalStatuses', label: 'TERMINAL status mapping' },
  ],
  pipeline: [
    { key: 'application', label: 'Application' },
    { key: 'pipeline', label: 'Pipeline', help: 'the pipeline config id' },
    { key: 'pipelineParameters', label: 'Pipeline parameters', kind: 'json' },
    { key: 'waitForCompletion', label: 'Wait for results', kind: 'checkbox' },
  ],
  checkPreconditions: [
    { key: 'preconditions', label: 'Preconditions', kind: 'json', expect: 'array', rows: 8,
      help: '[{"type": "expression", "context": {"expression": "${...}"}, "failPipeline": true}]' },
  ],
  evaluateVariables: [
    { key: 'variables', label: 'Variables', kind: 'json', expect: 'array', rows: 8, help: '[{"key": "name", "value": "${...}"}]' },
    { key: 'failOnFailedExpressions', label: 'Fail on failed expressions', kind: 'checkbox' },
  ],
  jenkins: [
    { key: 'master', label: 'Controller' },
    { key: 'job', label: 'Job' },
    { key: 'parameters', label: 'Job parameters', kind: 'json' },
    { key: 'propertyFile', label: 'Property file' },
    { key: 'markUnstableAsSuccessful', label: 'Consider stage successful if build is UNSTABLE', kind: 'checkbox' },
    { key: 'waitForCompletion', label: 'Wait for results', kind: 'checkbox' },
  ],
  bake: [
    { key: 'cloudProviderType', label: 'Provider', kind: 'select', options: ['aws', 'gce'] },
    { key: 'regions', label: 'Regions', kind: 'list', help: 'comma separated' },
    { key: 'package', label: 'Package' },
    { key: 'baseOs', label: 'Base OS' },
    { key: 'baseLabel', label: 'Base Label', kind: 'select', options: ['release', 'candidate', 'previous', 'unstable'] },
    { key: 'vmType', label: 'VM Type', kind: 'select', options: ['hvm', 'pv'] },
    { key: 'storeType', label: 'Root Volume Type', kind: 'select', options: ['ebs', 's3', 'docker'] },
    { key: 'baseAmi', label: 'Base AMI' },
    { key: 'amiName', label: 'AMI Name' },
    { key: 'templateFileName', label: 'Template File Name' },
    { key: 'extendedAttributes', label: 'Extended Attributes', kind: 'json' },
    { key: 'rebake', label: 'Rebake: rebake image without regard to the status of any existing bake', kind: 'checkbox' },
  ],
  deploy: [
    { key: 'clusters', label: 'Deployment clusters', kind: 'json', expect: 'array', rows: 12,
      help: 'each cluster as Deck\'s server group wizard writes it (account, region/availabilityZones, capacity, strategy...)' },
  ],
  deployManifest: [
    { key: 'account', label: 'Account' },
    { key: 'namespaceOverride', label: 'Override Namespace' },
    { key: 'source', label: 'Manifest Source', kind: 'select', options: [['text', 'Text'], ['artifact', 'Artifact']] },
    { key: 'manifests', label: 'Manifests', kind: 'json', expect: 'array', rows: 12 },
    { key: 'manifestArtifactId', label: 'Manifest artifact id' },
    { key: 'skipExpressionEvaluation', label: 'Skip SpEL expression evaluation', kind: 'checkbox' },
    { key: 'trafficManagement', label: 'Rollout strategy options', kind: 'json' },
  ],
  findImage: [
    { key: 'cloudProvider', label: 'Provider', kind: 'select', options: PROVIDERS },
    { key: 'credentials', label: 'Account' },
    { key: 'cluster', label: 'Cluster' },
    { key: 'regions', label: 'Regions', kind: 'list', help: 'comma separated' },
    { key: 'selectionStrategy', label: 'Server Group Selection', kind: 'select', options: ['LARGEST', 'NEWEST', 'OLDEST', 'FAIL'] },
    { key: 'onlyEnabled', label: 'Only consider enabled Server Groups', kind: 'checkbox' },
    { key: 'imageNamePattern', label: 'Image Name Pattern' },
  ],
  resizeServerGroup: [
    ...LOCATION,
    { key: 'action', label: 'Action', kind: 'select',
      options: [['scale_exact', 'Scale to Exact Size'], ['scale_up', 'Scale Up'], ['scale_down', 'Scale Down'],
        ['scale_to_cluster', 'Scale to Cluster Size'], ['scale_to_server_group', 'Scale to Server Group Size']] },
    { key: 'capacity', label: 'Capacity', kind: 'json', help: '{"min": 1, "max": 3, "desired": 2}' },
  ],
  disableServerGroup: LOCATION,
  destroyServerGroup: LOCATION,
};

/** Deck's "If stage fails" choices and the flags each sets. */
export const ON_FAILURE = [
  ['halt the entire pipeline', { failPipeline: true, continuePipeline: false, completeOtherBranchesThenFail: false }],
  ['halt this branch of the pipeline', { failPipeline: false, continuePipeline: false, completeOtherBranchesThenFail: false }],
  ['halt this branch and fail the pipeline once other branches complete', { failPipeline: false, continuePipeline: false, completeOtherBranchesThenFail: true }],
  ['ignore the failure', { failPipeline: false, continuePipeline: true, completeOtherBranchesThenFail: false }],
];

export function onFailure(stage) {
  if (stage.continuePipeline) return 3;
  if (stage.completeOtherBranchesThenFail) return 2;
  if (stage.failPipeline === false) return 1;
  return 0;
}

/** 'manualJudgment' → 'Manual Judgment': the name a new stage gets from its type. */
export function typeLabel(type) {
  const text = String(type || '').replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The stages ``refId`` may not depend on: itself and everything downstream of it (that would form a cycle). */
export function downstream(stages, refId) {
  const found = new Set([String(refId)]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stages) {
      if (!found.has(String(s.refId)) && (s.requisiteStageRefIds || []).some((r) => found.has(String(r)))) {
        found.add(String(s.refId));
        grew = true;
      }
    }
  }
  return found;
}

/** The next refId Deck would give: one more than the largest numeric refId. */
export function nextRefId(stages) {
  return String(1 + Math.max(0, ...stages.map((s) => Number.parseInt(s.refId, 10)).filter((n) => !Number.isNaN(n))));
}

/** Remove stage ``index``; the stages that depended on it depend on its own parents instead (Deck's way). */
export function removeStage(stages, index) {
  const [gone] = stages.splice(index, 1);
  const ref = String(gone.refId);
  for (const s of stages) {
    const reqs = (s.requisiteStageRefIds || []).map(String);
    if (reqs.includes(ref)) {
      s.requisiteStageRefIds = [...new Set([...reqs.filter((r) => r !== ref), ...(gone.requisiteStageRefIds || []).map(String)])];
    }
  }
  return gone;
}

function judgmentInputs(stage, path, onChange) {
  const control = h('textarea', { rows: 3, 'data-field': `${path}.judgmentInputs` });
  control.value = (stage.judgmentInputs || []).map((i) => i.value).join('\n');
  control.addEventListener('input', () => {
    const values = control.value.split('\n').map((v) => v.trim()).filter(Boolean);
    if (values.length) stage.judgmentInputs = values.map((value) => ({ value })); else delete stage.judgmentInputs;
    onChange('judgmentInputs');
  });
  return labelled('Judgment inputs', control, h('small', { class: 'muted help' }, 'one choice per line, offered with Continue and Stop'));
}

/** The type's own form, or a note that it has only the JSON editor. */
export function typeForm(stage, path, onChange) {
  const defs = STAGE_FORMS[stage.type];
  if (!defs) {
    return h('p', { class: 'muted' }, stage.type ? `No form for ${stage.type} stages here: use "Edit stage as JSON".` : 'Pick a stage type.');
  }
  return defs.map((def) => (def.kind === 'inputs' ? judgmentInputs(stage, path, onChange) : field(def, stage, path, onChange)));
}

/** The fields every stage has, after its name and type: what happens when it fails, timeout, a condition. */
export function commonFields(stage, path, onChange) {
  const failure = h('select', { 'data-field': `${path}.failPipeline` },
    ON_FAILURE.map(([text], i) => h('option', { value: String(i), selected: i === onFailure(stage) }, text)));
  failure.addEventListener('change', () => { Object.assign(stage, ON_FAILURE[Number(failure.value)][1]); onChange('failPipeline'); });
  const condition = { expression: (stage.stageEnabled && stage.stageEnabled.expression) || '' };
  const conditionField = field({ key: 'expression', label: 'Conditional on expression', help: 'the stage runs only when this is true' },
    condition, `${path}.stageEnabled`, () => {
      if (condition.expression) stage.stageEnabled = { type: 'expression', expression: condition.expression }; else delete stage.stageEnabled;
      onChange('stageEnabled');
    });
  return [
    labelled('If stage fails', failure),
    ...fields([{ key: 'stageTimeoutMs', label: 'Fail stage after (milliseconds)', kind: 'number', help: 'a specific amount of time; empty for the stage\'s own' }],
      stage, path, onChange),
    conditionField,
  ];
}
