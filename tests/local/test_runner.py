"""Runner semantics one by one: when, parameters, retries, fan-out, failure propagation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from argoscope.local.status import fnv32a
from tests.support.local_runs import RunYaml, workflow_yaml

ECHO = """
- name: echo
  inputs: {parameters: [{name: v, value: ""}]}
  container: {image: alpine, command: [echo, "{{inputs.parameters.v}}"]}
- name: fail
  container: {image: alpine, command: [sh, -c, "exit 3"]}
"""


def dag(tasks: str, extra: str = ECHO, dag_extra: str = "") -> str:
    body = "\n".join("      " + line for line in tasks.strip("\n").splitlines())
    return f"- name: main\n  dag:\n{dag_extra}    tasks:\n{body}\n{extra}"


def test_when_true_runs_and_when_false_skips(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: go, template: echo, when: "2 > 1"}
- {name: stop, template: echo, when: "{{workflow.parameters.flip}} == heads"}
- {name: after, template: echo, dependencies: [stop]}
"""), arguments="- {name: flip, value: tails}"))
    assert done.phase == "Succeeded"
    assert done.phase_of("go") == "Succeeded"
    skipped = done.nodes["stop"]
    assert (skipped["type"], skipped["phase"]) == ("Skipped", "Skipped")
    assert skipped["message"] == "when 'tails == heads' evaluated false"
    # A plain dependency on a skipped task still runs, as in Argo.
    assert done.phase_of("after") == "Succeeded"


def test_invalid_when_fails_the_run(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: gate, template: echo, when: "0.9 > abc"}
""")))
    assert done.phase == "Error"  # Argo: an Error node makes an Error workflow
    node = done.nodes["gate"]
    assert node["phase"] == "Error"
    assert "invalid 'when' expression" in node["message"]
    assert done.workflow["status"]["message"] == f"child '{node['id']}' failed"


def test_parameters_flow_between_tasks(run_yaml: RunYaml) -> None:
    templates = dag("""
- name: produce
  template: produce
  arguments: {parameters: [{name: base, value: "{{workflow.parameters.base}}"}]}
- name: gate
  template: echo
  dependencies: [produce]
  when: "{{tasks.produce.outputs.parameters.accuracy}} > 0.85"
  arguments:
    parameters:
    - {name: v, value: "{{workflow.name}}:{{tasks.produce.outputs.parameters.accuracy}}"}
""", ECHO + """
- name: produce
  inputs: {parameters: [{name: base}]}
  outputs:
    parameters:
    - {name: accuracy, valueFrom: {path: /tmp/out/accuracy.txt}}
    - {name: fallback, valueFrom: {path: /tmp/out/missing, default: none}}
  script:
    image: python:3.11
    command: [sh]
    source: |
      mkdir -p /tmp/out
      echo "{{inputs.parameters.base}}1" > /tmp/out/accuracy.txt
""")
    done = run_yaml(workflow_yaml(templates, arguments="- {name: base, value: '0.8'}"),
                    parameters={"base": "0.9"})
    assert done.phase == "Succeeded"
    assert done.output("produce", "accuracy") == "0.91"
    assert done.output("produce", "fallback") == "none"
    name = done.workflow["metadata"]["name"]
    assert done.nodes["gate"]["outputs"]["result"] == f"{name}:0.91"
    assert done.workflow["spec"]["arguments"]["parameters"] == [{"name": "base", "value": "0.9"}]
    # The container path was mapped into the state directory.
    mapped = done.state_dir / "runs" / name / "nodes" / done.nodes["produce"]["id"]
    assert (mapped / "fs/tmp/out/accuracy.txt").read_text().strip() == "0.91"


def test_missing_output_file_is_an_error(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("- {name: p, template: p}", """
- name: p
  outputs: {parameters: [{name: x, valueFrom: {path: /tmp/nothing-here}}]}
  container: {image: alpine, command: ["true"]}
""")))
    assert done.phase == "Error"
    assert done.phase_of("p") == "Error"
    assert "output parameter 'x'" in done.nodes["p"]["message"]


COUNTER = """
- name: flaky
  inputs: {parameters: [{name: succeed-at}]}
  retryStrategy: {limit: 3, retryPolicy: Always, backoff: {duration: 50ms, factor: 2}}
  script:
    image: python:3.11
    command: [python3]
    source: |
      import os, pathlib, sys, time
      marks = pathlib.Path(os.environ["ARGOSCOPE_LOCAL_NODE_DIR"]).parent / "attempts"
      with marks.open("a") as f:
          f.write(f"{time.time()}\\n")
      attempt = len(marks.read_text().split())
      sys.exit(0 if attempt >= {{inputs.parameters.succeed-at}} else 7)
"""


def test_retries_until_success(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- name: step
  template: flaky
  arguments: {parameters: [{name: succeed-at, value: "3"}]}
""", COUNTER)))
    assert done.phase == "Succeeded"
    retry = done.nodes["step"]
    assert (retry["type"], retry["phase"]) == ("Retry", "Succeeded")
    attempts = [done.nodes[f"step({i})"] for i in range(3)]
    assert retry["children"] == [a["id"] for a in attempts]
    assert [a["phase"] for a in attempts] == ["Failed", "Failed", "Succeeded"]
    assert attempts[0]["message"] == "Error (exit code 7)"
    assert attempts[0]["displayName"] == "step(0)" and attempts[0]["type"] == "Pod"
    # Backoff: 50ms, then 100ms (factor 2) between attempts.
    name = done.workflow["metadata"]["name"]
    times = [float(t) for t in (done.state_dir / "runs" / name / "nodes" / "attempts")
             .read_text().split()]
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1


def test_retries_exhausted(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- name: step
  template: flaky
  arguments: {parameters: [{name: succeed-at, value: "99"}]}
- {name: next, template: echo, dependencies: [step]}
""", ECHO + COUNTER)))
    assert done.phase == "Failed"
    retry = done.nodes["step"]
    assert (retry["phase"], retry["message"]) == ("Failed", "No more retries left")
    assert len(retry["children"]) == 4  # limit 3: the first attempt and three retries
    omitted = done.nodes["next"]
    assert (omitted["type"], omitted["phase"]) == ("Skipped", "Omitted")
    # Argo links the dependant to the last attempt.
    assert omitted["id"] in done.nodes["step(3)"]["children"]


@pytest.mark.parametrize(("policy", "attempts"),
                         [("OnError", 1), ("OnFailure", 3), ("OnTransientError", 1)])
def test_retry_policy(run_yaml: RunYaml, policy: str, attempts: int) -> None:
    done = run_yaml(workflow_yaml(dag("- {name: step, template: f}", f"""
- name: f
  retryStrategy: {{limit: 2, retryPolicy: {policy}}}
  container: {{image: alpine, command: [sh, -c, "exit 1"]}}
""")))
    assert len(done.nodes["step"]["children"]) == attempts


def test_backoff_max_duration_stops_retrying(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("- {name: step, template: f}", """
- name: f
  retryStrategy: {limit: 50, backoff: {duration: 150ms, maxDuration: 400ms}}
  container: {image: alpine, command: [sh, -c, "exit 1"]}
""")))
    retry = done.nodes["step"]
    assert retry["message"] == "Max duration limit exceeded"
    assert 2 <= len(retry["children"]) < 50


def test_fan_out_with_items_and_with_param(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- name: fan
  template: echo
  withItems: [a, {k: 1}]
  arguments: {parameters: [{name: v, value: "{{item}}"}]}
- name: list
  template: list
- name: over
  template: echo
  dependencies: [list]
  withParam: "{{tasks.list.outputs.result}}"
  arguments: {parameters: [{name: v, value: "{{item.n}}"}]}
""", ECHO + """
- name: list
  container: {image: alpine, command: [echo, '[{"n": 1}, {"n": 2}, {"n": 3}]']}
""")))
    assert done.phase == "Succeeded"
    group = done.nodes["fan"]
    assert group["type"] == "TaskGroup"
    assert [done.workflow["status"]["nodes"][c]["displayName"] for c in group["children"]] \
        == ["fan(0:a)", "fan(1:k:1)"]
    assert done.nodes["fan(1:k:1)"]["outputs"]["result"] == '{"k":1}'
    assert sorted(done.nodes[f"over({i}:n:{i + 1})"]["outputs"]["result"] for i in range(3)) \
        == ["1", "2", "3"]


def test_failure_omits_dependants_and_fails_the_run(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: a, template: fail}
- {name: b, template: echo, dependencies: [a]}
- {name: c, template: echo, dependencies: [b]}
""")))
    assert done.phase == "Failed"
    assert done.phase_of("a") == "Failed"
    assert done.phase_of("b") == "Omitted"
    assert done.phase_of("c") == "Omitted"
    assert done.phase_of("") == "Failed"
    assert done.workflow["status"]["finishedAt"]


def test_depends_on_failure_handles_it(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: a, template: fail}
- {name: on-fail, template: echo, depends: a.Failed}
- {name: on-ok, template: echo, depends: a.Succeeded}
- {name: either, template: echo, depends: "(a.Succeeded || a.Failed) && !on-ok.Succeeded"}
""")))
    assert done.phase_of("on-fail") == "Succeeded"
    assert done.phase_of("on-ok") == "Omitted"
    assert done.phase_of("either") == "Succeeded"
    # Every leaf (on-fail, either) ended Succeeded: the failure was handled, as in Argo.
    assert done.phase == "Succeeded"


def test_handled_failure_succeeds(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: a, template: fail}
- {name: recover, template: echo, depends: a.Failed || a.Errored}
""")))
    assert done.phase_of("recover") == "Succeeded"
    assert done.phase == "Succeeded"


@pytest.mark.parametrize("fail_fast", [True, False])
def test_fail_fast(run_yaml: RunYaml, fail_fast: bool) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: bad, template: fail}
- {name: slow, template: slow}
- {name: later, template: echo, dependencies: [slow]}
""", ECHO + """
- name: slow
  container: {image: alpine, command: [sh, -c, "sleep 0.6"]}
""", dag_extra=f"    failFast: {str(fail_fast).lower()}\n")), parallelism=4)
    assert done.phase == "Failed"
    assert done.phase_of("slow") == "Succeeded"  # running tasks are never killed
    if fail_fast:
        assert "later" not in done.nodes     # nothing new is scheduled after a failure
    else:
        assert done.phase_of("later") == "Succeeded"


PARALLEL = """
- name: probe
  inputs: {parameters: [{name: others}]}
  script:
    image: python:3.11
    command: [python3]
    source: |
      import os, pathlib, time
      shared = pathlib.Path(os.environ["ARGOSCOPE_LOCAL_NODE_DIR"]).parent
      lock = shared / "lock"
      try:
          lock.mkdir()          # fails if another probe runs right now
      except FileExistsError:
          (shared / "overlap").touch()
      else:
          time.sleep(0.3)
          lock.rmdir()
"""


@pytest.mark.parametrize(("parallelism", "overlap"), [(1, False), (3, True)])
def test_parallelism_limit(run_yaml: RunYaml, parallelism: int, overlap: bool,
                           tmp_path: Path) -> None:
    tasks = "\n".join(f"- {{name: p{i}, template: probe, arguments: {{parameters: "
                      f"[{{name: others, value: x}}]}}}}" for i in range(3))
    done = run_yaml(workflow_yaml(dag(tasks, PARALLEL)), parallelism=parallelism)
    assert done.phase == "Succeeded"
    name = done.workflow["metadata"]["name"]
    overlapped = (done.state_dir / "runs" / name / "nodes" / "overlap").exists()
    if overlap:
        # Three 0.3 s probes started together: with three slots at least two overlap.
        assert overlapped
    else:
        assert not overlapped


def test_volume_shared_between_steps(run_yaml: RunYaml) -> None:
    text = workflow_yaml(dag("""
- {name: write, template: write}
- {name: read, template: read, dependencies: [write]}
""", """
- name: write
  container:
    image: alpine
    command: [sh, -c, "echo hello > /data/msg"]
    volumeMounts: [{name: work, mountPath: /data}]
- name: read
  outputs: {parameters: [{name: msg, valueFrom: {path: /data/msg}}]}
  container:
    image: alpine
    command: [cat, /data/msg]
    volumeMounts: [{name: work, mountPath: /data}]
""")).replace("  templates:", "  volumes: [{name: work, emptyDir: {}}]\n  templates:")
    done = run_yaml(text)
    assert done.phase == "Succeeded"
    assert done.output("read", "msg") == "hello"
    assert done.nodes["read"]["outputs"]["result"] == "hello"


def test_status_is_argo_shaped(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: a, template: echo}
- {name: b, template: echo, dependencies: [a]}
""")))
    workflow = done.workflow
    name = workflow["metadata"]["name"]
    assert workflow["kind"] == "Workflow" and workflow["apiVersion"] == "argoproj.io/v1alpha1"
    assert workflow["metadata"]["namespace"] == "argo-local"
    assert name.startswith("t-") and len(name) == len("t-") + 5
    status = workflow["status"]
    assert status["phase"] == "Succeeded" and status["progress"] == "2/2"
    root = status["nodes"][name]
    assert (root["type"], root["displayName"], root["name"]) == ("DAG", name, name)
    a = done.nodes["a"]
    assert a["id"] == f"{name}-{fnv32a(name + '.a')}"
    assert a["name"] == f"{name}.a" and a["boundaryID"] == name
    assert root["children"] == [a["id"]] and a["children"] == [done.nodes["b"]["id"]]
    assert a["startedAt"].endswith("Z") and a["finishedAt"].endswith("Z")
    assert set(a["resourcesDuration"]) == {"cpu", "memory"}
    assert status["resourcesDuration"]["cpu"] >= 2
    pods = sorted((done.state_dir / "pods").glob(f"{name}-*.json"))
    assert len(pods) == 2
    pod = json.loads(pods[0].read_text())
    assert pod["metadata"]["labels"]["workflows.argoproj.io/workflow"] == name
    assert pod["metadata"]["annotations"]["workflows.argoproj.io/node-id"] in (
        a["id"], done.nodes["b"]["id"])
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("Completed", 0)
    # Atomic writes leave no temporary files behind.
    assert not list((done.state_dir / "workflows").glob(".*"))


def test_workflow_template_and_reference(run_yaml: RunYaml, tmp_path: Path) -> None:
    template = workflow_yaml(dag("""
- {name: say, template: echo, arguments: {parameters: [{name: v, value: "{{workflow.parameters.msg}}"}]}}
"""), arguments="- {name: msg, value: from-template}").replace(
        "kind: Workflow\nmetadata:\n  generateName: t-", "kind: WorkflowTemplate\nmetadata:\n  name: my-pipe")
    done = run_yaml(template)
    assert done.workflow["spec"]["workflowTemplateRef"] == {"name": "my-pipe"}
    assert done.workflow["metadata"]["name"].startswith("my-pipe-")
    assert done.nodes["say"]["outputs"]["result"] == "from-template"

    (tmp_path / "template.yaml").write_text(template)
    ref = ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: x-\n"
           "spec:\n  workflowTemplateRef: {name: my-pipe}\n"
           "  arguments: {parameters: [{name: msg, value: from-workflow}]}\n")
    path = tmp_path / "ref.yaml"
    path.write_text(ref)
    from argoscope.local.manifest import load
    from argoscope.local.runner import LocalRun, RunOptions

    run = LocalRun(load(path), RunOptions(state_dir=tmp_path / "state2"))
    assert run.run() == "Succeeded"
    written = json.loads(run.workflow_path.read_text())
    assert written["metadata"]["name"].startswith("x-")
    assert written["spec"]["workflowTemplateRef"] == {"name": "my-pipe"}
    say = next(n for n in written["status"]["nodes"].values() if n["displayName"] == "say")
    assert say["outputs"]["result"] == "from-workflow"


def test_nested_dag_names(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: outer, template: inner}
""", ECHO + """
- name: inner
  dag:
    tasks:
    - {name: leaf, template: echo}
""")))
    assert done.phase == "Succeeded"
    assert done.nodes["outer"]["type"] == "DAG"
    leaf = done.nodes["outer.leaf"]
    assert leaf["boundaryID"] == done.nodes["outer"]["id"]


def test_step_code_finds_its_output_path(run_yaml: RunYaml) -> None:
    # Code that does not receive the path on its command line (a library default) asks
    # `local_path`, which follows the runner's map here and is the identity in a container.
    from argoscope.local.paths import local_path

    assert local_path("/tmp/argoscope/checks.json", {}) == "/tmp/argoscope/checks.json"
    done = run_yaml(workflow_yaml(dag("- {name: check, template: check}", """
- name: check
  outputs:
    parameters:
    - {name: argoscope-checks, valueFrom: {path: /tmp/argoscope/checks.json}}
  volumes: []
  script:
    image: python:3.11
    command: [python3]
    source: |
      import pathlib
      from argoscope.local.paths import local_path
      target = pathlib.Path(local_path("/tmp/argoscope/" + "checks.json"))
      target.write_text('{"schema": "argoscope.checks/v1", "results": []}')
""").replace("  volumes: []\n", "")))
    assert done.phase == "Succeeded", done.nodes["check"].get("message")
    assert done.output("check", "argoscope-checks") == '{"schema": "argoscope.checks/v1", "results": []}'


def test_variables_and_working_dir(run_yaml: RunYaml) -> None:
    text = workflow_yaml(dag("""
- {name: first, template: echo}
- name: show
  template: show
  dependencies: [first]
  arguments: {parameters: [{name: s, value: "{{tasks.first.status}}"}]}
""", ECHO + """
- name: show
  inputs: {parameters: [{name: s}]}
  outputs: {parameters: [{name: where, valueFrom: {path: /tmp/where}}]}
  container:
    image: a
    workingDir: /data
    command: [sh, -c]
    args:
    - >-
      echo "{{inputs.parameters.s}} {{workflow.namespace}} {{workflow.uid}} {{pod.name}}
      {{retries}}" && pwd > {{outputs.parameters.where.path}}
    volumeMounts: [{name: work, mountPath: /data}]
"""), arguments="- {name: size, value: small, enum: [small, large]}").replace(
        "  templates:", "  volumes: [{name: work, emptyDir: {}}]\n  templates:")
    done = run_yaml(text, namespace="team-a")
    assert done.phase == "Succeeded", done.nodes["show"].get("message")
    uid = done.workflow["metadata"]["uid"]
    pod = done.nodes["show"]
    status, namespace, got_uid, pod_name_, retries = pod["outputs"]["result"].split()
    assert (status, namespace, got_uid, retries) == ("Succeeded", "team-a", uid, "0")
    assert (done.state_dir / "pods" / f"{pod_name_}.json").exists()
    name = done.workflow["metadata"]["name"]
    assert done.output("show", "where") == str(done.state_dir / "runs" / name / "volumes/work")

    from argoscope.local.manifest import ManifestError

    with pytest.raises(ManifestError, match="is not one of"):
        run_yaml(text, parameters={"size": "huge"})


def test_unresolved_reference_is_an_error(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(dag("""
- {name: a, template: echo, arguments: {parameters: [{name: v, value: "{{tasks.nope.outputs.result}}"}]}}
""")))
    assert done.phase == "Error"
    assert done.nodes["a"]["message"] == "failed to resolve {{tasks.nope.outputs.result}}"


@pytest.mark.parametrize("where", ["template", "spec"])
def test_manifest_parallelism(run_yaml: RunYaml, where: str) -> None:
    tasks = "\n".join(f"- {{name: p{i}, template: probe, arguments: {{parameters: "
                      f"[{{name: others, value: x}}]}}}}" for i in range(3))
    templates = dag(tasks, PARALLEL)
    if where == "template":  # a DAG's own limit holds even when the run allows more
        templates = templates.replace("  dag:", "  parallelism: 1\n  dag:", 1)
        done = run_yaml(workflow_yaml(templates), parallelism=3)
    else:                    # spec.parallelism is the default when no option is given
        done = run_yaml(workflow_yaml(templates).replace(
            "  templates:", "  parallelism: 1\n  templates:"))
    name = done.workflow["metadata"]["name"]
    assert done.phase == "Succeeded"
    assert not (done.state_dir / "runs" / name / "nodes" / "overlap").exists()


def test_claims_persist_across_runs_and_claim_templates_do_not(run_yaml: RunYaml,
                                                               tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    text = workflow_yaml(dag("- {name: count, template: count}", """
- name: count
  container:
    image: a
    command: [sh, -c, "echo x >> /keep/n; echo x >> /scratch/n; wc -l < /keep/n; wc -l < /scratch/n;
              touch /host/seen"]
    volumeMounts:
    - {name: keep, mountPath: /keep}
    - {name: scratch, mountPath: /scratch}
    - {name: host, mountPath: /host}
""")).replace("  templates:", "  volumes: [{name: keep, persistentVolumeClaim: {claimName: models}},"
              f" {{name: host, hostPath: {{path: '{host}'}}}}]\n"
              "  volumeClaimTemplates: [{metadata: {name: scratch}}]\n  templates:")
    run_yaml(text)
    done = run_yaml(text)
    assert done.nodes["count"]["outputs"]["result"].split() == ["2", "1"]
    assert (done.state_dir / "volumes" / "models" / "n").exists()
    assert (host / "seen").exists()


def test_fixed_name_runs_once_per_state_dir(run_yaml: RunYaml) -> None:
    from argoscope.local.manifest import ManifestError

    text = workflow_yaml(dag("- {name: a, template: echo}")).replace(
        "generateName: t-", "name: fixed")
    assert run_yaml(text).workflow["metadata"]["name"] == "fixed"
    with pytest.raises(ManifestError, match="already exists"):
        run_yaml(text)


def test_template_file_option(tmp_path: Path) -> None:
    from argoscope.local.manifest import load

    elsewhere = tmp_path / "lib"
    elsewhere.mkdir()
    (elsewhere / "t.yaml").write_text(workflow_yaml(dag("- {name: a, template: echo}")).replace(
        "kind: Workflow\nmetadata:\n  generateName: t-", "kind: WorkflowTemplate\nmetadata:\n  name: lib-t"))
    ref = tmp_path / "run" / "ref.yaml"
    ref.parent.mkdir()
    ref.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: r}\n"
                   "spec: {workflowTemplateRef: {name: lib-t}}\n")
    from argoscope.local.manifest import ManifestError

    with pytest.raises(ManifestError, match="not found"):
        load(ref)
    assert load(ref, [elsewhere / "t.yaml"]).template_name == "lib-t"


def test_the_pipeline_label_is_kept_on_the_workflow_and_read_by_the_exporter(
        run_yaml: RunYaml) -> None:
    """`argoscope.io/pipeline` on the manifest stays on the Workflow, as Argo keeps labels, and
    the exporter takes it as the pipeline's identity before generateName."""
    from argoscope.exporter.objects import pipeline_name

    def pipeline_of(workflow: dict[str, Any]) -> str:
        return pipeline_name(workflow["metadata"], workflow["spec"])[0]

    text = workflow_yaml(dag("- {name: go, template: echo}"), name="nightly-run-").replace(
        "metadata:\n", "metadata:\n  labels: {argoscope.io/pipeline: churn-model}\n", 1)
    done = run_yaml(text)
    assert done.workflow["metadata"]["labels"]["argoscope.io/pipeline"] == "churn-model"
    assert pipeline_of(done.workflow) == "churn-model"
    plain = run_yaml(workflow_yaml(dag("- {name: go, template: echo}"), name="nightly-run-"))
    assert "argoscope.io/pipeline" not in plain.workflow["metadata"]["labels"]
    assert pipeline_of(plain.workflow) == "nightly-run"
