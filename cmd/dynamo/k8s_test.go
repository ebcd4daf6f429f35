package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// k8sObject is what the test reads of a manifest.
type k8sObject struct {
	Kind     string
	Metadata struct{ Name string }
	Spec     struct {
		ClusterIP                string `yaml:"clusterIP"`
		PublishNotReadyAddresses bool   `yaml:"publishNotReadyAddresses"`
		ServiceName              string `yaml:"serviceName"`
		MaxUnavailable           any    `yaml:"maxUnavailable"`
		Template                 struct {
			Spec struct {
				HostNetwork bool `yaml:"hostNetwork"`
				Containers  []struct {
					Args []string
					Env  []struct {
						Name      string
						Value     string
						ValueFrom map[string]any `yaml:"valueFrom"`
					}
					Ports []struct {
						Name          string
						ContainerPort int    `yaml:"containerPort"`
						Protocol      string `yaml:"protocol"`
					}
					ReadinessProbe k8sProbe `yaml:"readinessProbe"`
					LivenessProbe  k8sProbe `yaml:"livenessProbe"`
					VolumeMounts   []struct {
						Name      string
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				}
			}
		}
		VolumeClaimTemplates []struct{ Metadata struct{ Name string } } `yaml:"volumeClaimTemplates"`
	}
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string
		Port string
	} `yaml:"httpGet"`
	TCPSocket *struct{ Port string } `yaml:"tcpSocket"`
}

// The Kubernetes manifests parse; they hold a headless Service listing
// not-ready pods, a StatefulSet without hostNetwork whose data volume is a
// claim template, and a PodDisruptionBudget; and the agent's own config
// parser takes every setting the StatefulSet passes (with the pod's fields
// filled in) and the node's validation accepts the result: no flag that
// does not exist, no value of the wrong kind.
func TestKubernetesManifests(t *testing.T) {
	files, _ := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	kinds := map[string]k8sObject{}
	var sts *k8sObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kinds[o.Kind+"/"+o.Metadata.Name] = o
			if o.Kind == "StatefulSet" {
				sts = &o
			}
		}
	}
	if sts == nil || len(sts.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one StatefulSet of one container, got %v", kinds)
	}
	headless, ok := kinds["Service/"+sts.Spec.ServiceName]
	if !ok || headless.Spec.ClusterIP != "None" || !headless.Spec.PublishNotReadyAddresses {
		t.Fatalf("the StatefulSet's Service %q must be headless and publish not-ready pods: %+v", sts.Spec.ServiceName, headless.Spec)
	}
	if _, ok := kinds["PodDisruptionBudget/dynamo"]; !ok {
		t.Fatal("no PodDisruptionBudget")
	}
	if sts.Spec.Template.Spec.HostNetwork {
		t.Fatal("the StatefulSet uses hostNetwork")
	}
	c := sts.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/ready" {
		t.Fatalf("readiness probe %+v, want GET /ready", c.ReadinessProbe)
	}
	named := map[string]bool{}
	for _, p := range c.Ports {
		named[p.Name] = true
	}
	for _, p := range []k8sProbe{c.ReadinessProbe, c.LivenessProbe} {
		port := ""
		switch {
		case p.HTTPGet != nil:
			port = p.HTTPGet.Port
		case p.TCPSocket != nil:
			port = p.TCPSocket.Port
		}
		if !named[port] {
			t.Errorf("a probe names port %q, which the container does not declare", port)
		}
	}

	// The pod's environment, as the kubelet builds it: downward-API
	// fields, then $(VAR) references to variables defined before.
	pod := map[string]string{"metadata.name": "dynamo-1", "status.podIP": "10.1.2.3", "metadata.namespace": "prod"}
	env := map[string]string{}
	ref := regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)\)`)
	for _, e := range c.Env {
		if fr, ok := e.ValueFrom["fieldRef"].(map[string]any); ok {
			env[e.Name] = pod[fr["fieldPath"].(string)]
			continue
		}
		if _, ok := e.ValueFrom["secretKeyRef"]; ok {
			env[e.Name] = "MDEyMzQ1Njc4OWFiY2RlZg==" // a key as `dynamo certs gossip-key` makes
			continue
		}
		for _, m := range ref.FindAllStringSubmatch(e.Value, -1) {
			if _, ok := env[m[1]]; !ok {
				t.Errorf("%s refers to $(%s), not defined before it", e.Name, m[1])
			}
		}
		env[e.Name] = ref.ReplaceAllStringFunc(e.Value, func(m string) string { return env[m[2:len(m)-1]] })
	}
	fs, _ := agentFlags(io.Discard, "host")
	for name := range env {
		if strings.HasPrefix(name, envPrefix) && name != envPrefix+"CONFIG" {
			flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, envPrefix), "_", "-"))
			if fs.Lookup(flagName) == nil {
				t.Errorf("%s names no agent flag (--%s)", name, flagName)
			}
		}
	}
	cfg, err := resolveAgent(c.Args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard)
	if err != nil {
		t.Fatalf("the agent refuses the StatefulSet's settings: %v", err)
	}
	if err := cfg.Node.Validate(); err != nil {
		t.Fatalf("the node refuses the StatefulSet's settings: %v", err)
	}
	n := cfg.Node
	if n.Name != "dynamo-1" || n.AdvertiseAddr != "10.1.2.3" || n.BindAddr != "0.0.0.0" || len(n.Join) != 1 || n.Join[0] != "dynamo.prod.svc:7946" || !n.StayLeft || len(n.GossipKeys) != 1 {
		t.Fatalf("resolved name %q, advertise %q, bind %q, join %v", n.Name, n.AdvertiseAddr, n.BindAddr, n.Join)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || (m.MountPath == n.DataDir && len(sts.Spec.VolumeClaimTemplates) == 1 && m.Name == sts.Spec.VolumeClaimTemplates[0].Metadata.Name)
	}
	if !mounted {
		t.Fatalf("the data directory %s is not the claim template's volume", n.DataDir)
	}
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Protocol+"/"+itoa(p.ContainerPort)] = true
	}
	for _, want := range []string{"TCP/" + port(n.GossipAddr), "UDP/" + port(n.GossipAddr), "TCP/" + port(n.ActorAddr), "TCP/" + port(n.HTTPAddr)} {
		if !ports[want] {
			t.Errorf("container port %s not declared (%v)", want, ports)
		}
	}
}

func port(hostPort string) string { return hostPort[strings.LastIndex(hostPort, ":")+1:] }

func itoa(n int) string { return strconv.Itoa(n) }
