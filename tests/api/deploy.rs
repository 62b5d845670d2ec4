//! The deploy files parse and say what they should: `deploy/Dockerfile`,
//! `deploy/compose.yaml`, `deploy/kubernetes/*.yaml`, `deploy/tm-defect-bridge.service`.
//!
//! Images, clusters and systemd cannot be exercised here, so these tests parse
//! every file, load the configuration and mappings they carry with the service's
//! own loaders, and check the facts a deployment relies on (non-root, probes,
//! secrets from the Secret, shared PostgreSQL ledger, paths that exist).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tm_defect_bridge::config::Settings;
use tm_defect_bridge::mapping::registry::load_file;
use yaml_rust2::{Yaml, YamlLoader};

const APP: &str = "tm-defect-bridge";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every non-empty YAML document of `text`, failing with the file's name.
fn yaml_docs(name: &str, text: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(text)
        .unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
        .into_iter()
        .filter(|doc| !doc.is_null())
        .collect()
}

/// Every document of every `deploy/kubernetes/*.yaml` file, with its file name.
fn manifests() -> Vec<(String, Yaml)> {
    let dir = repo().join("deploy/kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut docs = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in yaml_docs(&name, &text) {
            assert!(
                doc["apiVersion"].as_str().is_some() && doc["kind"].as_str().is_some(),
                "{name}: every document needs apiVersion and kind"
            );
            assert!(
                doc["metadata"]["name"].as_str().is_some(),
                "{name}: every document needs metadata.name"
            );
            docs.push((name.clone(), doc));
        }
    }
    docs
}

fn only<'a>(docs: &'a [(String, Yaml)], kind: &str) -> &'a Yaml {
    let found: Vec<_> = docs
        .iter()
        .filter(|(_, d)| d["kind"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "expected exactly one {kind}");
    &found[0].1
}

fn config_map<'a>(docs: &'a [(String, Yaml)], name: &str) -> &'a Yaml {
    docs.iter()
        .map(|(_, d)| d)
        .find(|d| {
            d["kind"].as_str() == Some("ConfigMap") && d["metadata"]["name"].as_str() == Some(name)
        })
        .unwrap_or_else(|| panic!("no ConfigMap {name}"))
}

fn list(yaml: &Yaml) -> &[Yaml] {
    yaml.as_vec().map_or(&[], Vec::as_slice)
}

fn str_map(yaml: &Yaml) -> BTreeMap<String, String> {
    yaml.as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect()
}

fn deployment_container(docs: &[(String, Yaml)]) -> &Yaml {
    let containers = list(&only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]);
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// The container's volume mounts: volume name → mount path.
fn mounts(container: &Yaml) -> BTreeMap<String, String> {
    list(&container["volumeMounts"])
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["mountPath"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The Deployment's volumes backed by ConfigMaps: volume name → ConfigMap name.
fn config_map_volumes(docs: &[(String, Yaml)]) -> BTreeMap<String, String> {
    list(&only(docs, "Deployment")["spec"]["template"]["spec"]["volumes"])
        .iter()
        .filter_map(|v| {
            Some((
                v["name"].as_str()?.to_owned(),
                v["configMap"]["name"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn kubernetes_manifests_hold_every_kind() {
    let docs = manifests();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, doc) in &docs {
        *kinds.entry(doc["kind"].as_str().unwrap()).or_default() += 1;
    }
    for kind in ["Deployment", "Service", "Secret", "PodDisruptionBudget"] {
        assert_eq!(kinds.get(kind), Some(&1), "one {kind}: {kinds:?}");
    }
    assert_eq!(
        kinds.get("ConfigMap"),
        Some(&2),
        "two ConfigMaps: {kinds:?}"
    );
    // `kubectl apply -f deploy/kubernetes/` must not meet anything it cannot apply.
    assert!(
        !kinds.contains_key("Kustomization"),
        "a kustomization.yaml would break `kubectl apply -f`"
    );
}

#[test]
fn kubernetes_deployment_runs_two_hardened_replicas_with_probes() {
    let docs = manifests();
    let deployment = only(&docs, "Deployment");
    assert_eq!(deployment["spec"]["replicas"].as_i64(), Some(2));
    let pod = &deployment["spec"]["template"]["spec"];
    let labels = str_map(&deployment["spec"]["template"]["metadata"]["labels"]);
    let selector = str_map(&deployment["spec"]["selector"]["matchLabels"]);
    assert!(!selector.is_empty());
    assert!(selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
    assert!(pod["terminationGracePeriodSeconds"].as_i64().unwrap() > 30);
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert_ne!(pod["securityContext"]["runAsUser"].as_i64(), Some(0));

    let container = deployment_container(&docs);
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
    let dropped: Vec<_> = list(&security["capabilities"]["drop"])
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(dropped, ["ALL"]);

    let port_names: BTreeSet<_> = list(&container["ports"])
        .iter()
        .filter(|p| p["containerPort"].as_i64() == Some(8080))
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        port_names.contains("http"),
        "container port 8080 named http"
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"].as_str(), Some("http"));
    }
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                !container["resources"][kind][resource].is_badvalue(),
                "resources.{kind}.{resource}"
            );
        }
    }
    let image = container["image"].as_str().unwrap();
    assert!(image.contains(APP), "{image}");

    // The other objects select these pods.
    let service = only(&docs, "Service");
    assert!(str_map(&service["spec"]["selector"])
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v)));
    assert_eq!(
        list(&service["spec"]["ports"])[0]["targetPort"].as_str(),
        Some("http")
    );
    let pdb = only(&docs, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"].as_i64(), Some(1));
    assert!(str_map(&pdb["spec"]["selector"]["matchLabels"])
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v)));
}

#[test]
fn kubernetes_secrets_come_from_the_secret_by_reference() {
    let docs = manifests();
    let secret = only(&docs, "Secret");
    let secret_name = secret["metadata"]["name"].as_str().unwrap();
    let values = str_map(&secret["stringData"]);
    assert!(!values.is_empty(), "the Secret uses stringData");
    for (key, value) in &values {
        assert!(
            value.contains("CHANGE-ME"),
            "Secret key {key} must be a CHANGE-ME placeholder"
        );
    }
    assert!(
        secret["data"].is_badvalue(),
        "placeholders only, in stringData"
    );

    let container = deployment_container(&docs);
    let mut from_secret = BTreeMap::new();
    for var in list(&container["env"]) {
        let name = var["name"].as_str().unwrap();
        if name.starts_with("BRIDGE_") {
            assert!(
                var["value"].is_badvalue(),
                "{name}: settings in the Deployment's env come from the Secret, not literals"
            );
        }
        let reference = &var["valueFrom"]["secretKeyRef"];
        if reference.is_badvalue() {
            continue;
        }
        assert_eq!(reference["name"].as_str(), Some(secret_name), "{name}");
        let key = reference["key"].as_str().unwrap();
        assert!(
            values.contains_key(key),
            "{name}: the Secret has no key {key}"
        );
        from_secret.insert(name.to_owned(), key.to_owned());
    }
    for name in [
        "BRIDGE_JIRA__TOKEN",
        "BRIDGE_TESTMANAGER__CLIENT_SECRET",
        "BRIDGE_AUTH__SECRETS__SHOP",
        "BRIDGE_STORE__URL",
    ] {
        assert!(from_secret.contains_key(name), "{name} by secretKeyRef");
    }
    // Two replicas must share one ledger.
    let store = &values[&from_secret["BRIDGE_STORE__URL"]];
    assert!(store.starts_with("postgres://"), "{store}");
}

#[test]
fn kubernetes_config_map_is_a_bridge_toml_the_service_loads() {
    let docs = manifests();
    let container = deployment_container(&docs);
    let text = config_map(&docs, "tm-defect-bridge-config")["data"]["bridge.toml"]
        .as_str()
        .expect("ConfigMap tm-defect-bridge-config has data.bridge.toml");
    let table: toml::Table = toml::from_str(text).unwrap();
    assert!(table.contains_key("jira") && table.contains_key("testmanager"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.toml");
    std::fs::write(&path, text).unwrap();
    // No secrets are set: loading does not need them.
    let settings = Settings::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.server.listen, "0.0.0.0:8080");

    // The Deployment reads this file and the mappings where the file says.
    let volumes = config_map_volumes(&docs);
    let mounts = mounts(container);
    let mount_of = |config_map: &str| {
        let volume = volumes
            .iter()
            .find(|(_, cm)| cm.as_str() == config_map)
            .map(|(v, _)| v)
            .unwrap_or_else(|| panic!("no volume for ConfigMap {config_map}"));
        mounts[volume].clone()
    };
    let args: Vec<_> = list(&container["args"])
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let config_arg = args
        .iter()
        .position(|a| *a == "--config")
        .map(|i| args[i + 1])
        .expect("serve --config <file>");
    assert_eq!(args[0], "serve");
    assert_eq!(
        Path::new(config_arg),
        Path::new(&mount_of("tm-defect-bridge-config")).join("bridge.toml")
    );
    assert_eq!(
        settings.mappings.dir,
        PathBuf::from(mount_of("tm-defect-bridge-mappings"))
    );
}

#[test]
fn kubernetes_mappings_config_map_loads_as_mappings() {
    let docs = manifests();
    let data = &config_map(&docs, "tm-defect-bridge-mappings")["data"];
    let files = data.as_hash().expect("ConfigMap data");
    assert!(!files.is_empty());
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let name = name.as_str().unwrap();
        assert!(
            name.ends_with(".toml"),
            "{name}: only *.toml files are loaded"
        );
        let path = dir.path().join(name);
        std::fs::write(&path, text.as_str().unwrap()).unwrap();
        let mapping = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!mapping.route.is_empty());
    }
    // The example in the ConfigMap is mappings/example.toml, kept in step.
    assert_eq!(
        data["shop.toml"].as_str(),
        Some(read("mappings/example.toml").as_str()),
        "deploy/kubernetes/configmap-mappings.yaml shop.toml differs from mappings/example.toml"
    );
}

#[test]
fn compose_runs_the_bridge_on_a_healthy_postgres() {
    let text = read("deploy/compose.yaml");
    let docs = yaml_docs("compose.yaml", &text);
    assert_eq!(docs.len(), 1);
    let services = &docs[0]["services"];
    let bridge = &services["bridge"];
    let postgres = &services["postgres"];
    assert!(!bridge.is_badvalue() && !postgres.is_badvalue());

    assert!(postgres["image"]
        .as_str()
        .unwrap()
        .starts_with("postgres:16"));
    let check: Vec<_> = list(&postgres["healthcheck"]["test"])
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(check.iter().any(|c| c.contains("pg_isready")), "{check:?}");
    assert_eq!(
        bridge["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    let env = str_map(&bridge["environment"]);
    let store = &env["BRIDGE_STORE__URL"];
    assert!(
        store.starts_with("postgres://") && store.contains("@postgres:5432/"),
        "{store}"
    );
    for secret in [
        "BRIDGE_JIRA__TOKEN",
        "BRIDGE_TESTMANAGER__CLIENT_SECRET",
        "BRIDGE_AUTH__SECRETS__",
    ] {
        assert!(
            !env.keys().any(|k| k.starts_with(secret)),
            "{secret} belongs in the env file, not in compose.yaml"
        );
    }
    let ports: Vec<_> = list(&bridge["ports"])
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(ports.iter().any(|p| p.ends_with(":8080")), "{ports:?}");

    // Named volume for the database.
    let pg_volume = list(&postgres["volumes"])[0]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap();
    assert!(
        !docs[0]["volumes"][pg_volume].is_badvalue(),
        "volume {pg_volume} is declared"
    );
}

#[test]
fn compose_and_dockerfile_reference_paths_that_exist() {
    let deploy = repo().join("deploy");
    let text = read("deploy/compose.yaml");
    let compose = &yaml_docs("compose.yaml", &text)[0];
    let bridge = &compose["services"]["bridge"];
    let context = deploy.join(bridge["build"]["context"].as_str().unwrap());
    assert_eq!(
        context.canonicalize().unwrap(),
        repo().canonicalize().unwrap()
    );
    let dockerfile = bridge["build"]["dockerfile"].as_str().unwrap();
    assert!(context.join(dockerfile).is_file(), "{dockerfile}");
    for volume in list(&bridge["volumes"]).iter().filter_map(Yaml::as_str) {
        let source = volume.split(':').next().unwrap();
        if source.starts_with('.') {
            assert!(deploy.join(source).exists(), "compose bind mount {source}");
        }
    }
    for file in list(&bridge["env_file"]) {
        let path = file["path"].as_str().or(file.as_str()).unwrap();
        assert!(
            deploy.join(format!("{path}.example")).is_file(),
            "{path}.example shows what {path} holds"
        );
    }

    // Every COPY from the build context names something in the repository.
    for (instruction, args) in dockerfile_instructions(&read("deploy/Dockerfile")) {
        if instruction != "COPY" || args.iter().any(|a| a.starts_with("--from")) {
            continue;
        }
        let sources: Vec<_> = args.iter().filter(|a| !a.starts_with("--")).collect();
        for source in &sources[..sources.len() - 1] {
            assert!(repo().join(source).exists(), "Dockerfile COPY {source}");
        }
    }
}

/// The Dockerfile's instructions (continuation lines joined, comments dropped).
fn dockerfile_instructions(text: &str) -> Vec<(String, Vec<String>)> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(part) = line.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let mut words = current.split_whitespace().map(str::to_owned);
        if let Some(instruction) = words.next() {
            instructions.push((instruction.to_uppercase(), words.collect()));
        }
        current.clear();
    }
    instructions
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_ships_the_binary() {
    let instructions = dockerfile_instructions(&read("deploy/Dockerfile"));
    let stages: Vec<_> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| i == "FROM")
        .map(|(n, _)| n)
        .collect();
    assert!(stages.len() >= 2, "a builder stage and a runtime stage");
    let builder = &instructions[stages[0]..stages[1]];
    assert!(
        builder.iter().any(|(i, args)| i == "RUN"
            && args.windows(2).any(|w| w == ["build", "--release"])
            && args.iter().any(|a| a == "--locked")),
        "the builder runs cargo build --release --locked"
    );
    let runtime = &instructions[*stages.last().unwrap()..];
    let user = runtime
        .iter()
        .rfind(|(i, _)| i == "USER")
        .map(|(_, args)| args[0].clone())
        .expect("the final stage sets USER");
    let name = user.split(':').next().unwrap();
    assert!(name != "root" && name != "0", "USER {user}");
    assert!(name.parse::<u32>().is_ok(), "USER {user} is numeric");
    assert!(
        runtime.iter().any(|(i, args)| i == "COPY"
            && args.iter().any(|a| a.starts_with("--from="))
            && args.iter().any(|a| a.ends_with(APP))),
        "the final stage copies the binary from the builder"
    );
    let has = |instruction: &str, words: &str| {
        runtime
            .iter()
            .any(|(i, args)| i == instruction && args.join(" ") == words)
    };
    assert!(has("WORKDIR", "/app"));
    assert!(has("EXPOSE", "8080"));
    assert!(has("ENV", "BRIDGE_SERVER__LISTEN=0.0.0.0:8080"));
    assert!(has("ENTRYPOINT", r#"["/app/tm-defect-bridge"]"#));
    assert!(has("CMD", r#"["serve", "--config", "/app/bridge.toml"]"#));
    assert!(runtime.iter().any(|(i, args)| i == "COPY"
        && args.first().map(String::as_str) == Some("deploy/bridge.example.toml")
        && args.last().map(String::as_str) == Some("/app/bridge.toml")));

    let ignore = read(".dockerignore");
    for entry in ["target/", "data/", ".git/"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore {entry}"
        );
    }
}

/// A systemd unit file: section → (key, value) in order.
fn unit_sections(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_owned());
            sections.entry(name.to_owned()).or_default();
            continue;
        }
        let section = current
            .as_ref()
            .unwrap_or_else(|| panic!("{line}: outside a section"));
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{line}: not key=value"));
        sections
            .get_mut(section)
            .unwrap()
            .push((key.trim().to_owned(), value.trim().to_owned()));
    }
    sections
}

#[test]
fn systemd_unit_is_hardened() {
    let sections = unit_sections(&read("deploy/tm-defect-bridge.service"));
    for section in ["Unit", "Service", "Install"] {
        assert!(sections.contains_key(section), "[{section}]");
    }
    let service = &sections["Service"];
    let values = |key: &str| -> Vec<&str> {
        service
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let one = |key: &str| -> &str {
        let found = values(key);
        assert_eq!(found.len(), 1, "{key}= once: {found:?}");
        found[0]
    };
    let exec = one("ExecStart");
    assert!(exec.contains("tm-defect-bridge serve"), "{exec}");
    assert!(exec.contains("--config /"), "an absolute --config: {exec}");
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("CapabilityBoundingSet", ""),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(one(key), value, "{key}");
    }
    assert!(values("SystemCallFilter").contains(&"@system-service"));
    assert!(one("TimeoutStopSec").parse::<u32>().unwrap() > 30);
    assert!(one("WorkingDirectory").starts_with('/'));
    assert!(one("EnvironmentFile").ends_with("secrets.env"));
    assert_eq!(one("DynamicUser"), "yes");

    // The SQLite ledger lives in the state directory, the one writable place.
    let state = one("StateDirectory");
    let store = format!("BRIDGE_STORE__URL=sqlite:///var/lib/{state}/");
    assert!(
        values("Environment").iter().any(|e| e.starts_with(&store)),
        "Environment={store}…"
    );
    assert!(sections["Install"]
        .iter()
        .any(|(k, v)| k == "WantedBy" && v == "multi-user.target"));
}

#[test]
fn secrets_env_example_holds_only_placeholders() {
    let text = read("deploy/secrets.env.example");
    let vars: BTreeMap<_, _> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_once('=')
                .unwrap_or_else(|| panic!("{l}: not NAME=value"))
        })
        .collect();
    for name in [
        "BRIDGE_JIRA__TOKEN",
        "BRIDGE_TESTMANAGER__CLIENT_SECRET",
        "BRIDGE_AUTH__SECRETS__SHOP",
    ] {
        assert_eq!(vars.get(name), Some(&"CHANGE-ME"), "{name}");
    }
    assert!(vars.values().all(|v| *v == "CHANGE-ME"), "{vars:?}");
    let ignored = read(".gitignore");
    assert!(ignored.lines().any(|l| l.trim() == "/deploy/secrets.env"));
}
