package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/internal/platform/kafka"
)

// brokerStartTimeout bounds one start of a private broker (two JVMs format
// the log folder on the first start, then the broker's JVM starts).
const brokerStartTimeout = 3 * time.Minute

// Broker is a private single-node Kafka for one test: its own state folder
// (log folder, config, logs) under t.TempDir(), its own loopback ports, and
// the jars of the stack's state folder (what `make services` fetched). Tests
// that kill or restart a broker use it, never the shared one other tests and
// engineers read from.
//
// It runs `deploy/local/kafka.sh run`: the same configuration as the stack's
// broker. The broker dies with the test binary (SIGKILL as parent-death
// signal) and at the end of the test.
type Broker struct {
	t        testing.TB
	script   string
	env      []string
	stateDir string
	// Config reaches this broker (and only it).
	Config kafka.Config

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{}
}

// PrivateBroker starts a private broker for this test and waits until it
// answers. It is skipped under -short and fails under STORECAST_INTEGRATION=1
// when the jars are missing.
func PrivateBroker(t testing.TB) *Broker {
	t.Helper()
	skipShort(t, "a private Kafka broker")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	stackState := os.Getenv("STORECAST_STATE_DIR")
	if stackState == "" {
		stackState = filepath.Join(root, ".state")
	}
	libs := filepath.Join(stackState, "kafka", "libs")
	if _, err := os.Stat(filepath.Join(libs, ".pom.sha256")); err != nil {
		need(t, "Kafka's jars (make services)", err)
	}
	if _, err := exec.LookPath("java"); err != nil {
		need(t, "java", err)
	}
	ports := freePorts(t, 2)
	b := &Broker{
		t:        t,
		script:   filepath.Join(root, "deploy", "local", "kafka.sh"),
		stateDir: t.TempDir(),
	}
	b.env = append(os.Environ(),
		"STORECAST_STATE_DIR="+b.stateDir,
		"STORECAST_KAFKA_LIBS="+libs,
		"STORECAST_KAFKA_PORT="+strconv.Itoa(ports[0]),
		"STORECAST_KAFKA_CONTROLLER_PORT="+strconv.Itoa(ports[1]),
		"STORECAST_KAFKA_HEAP=384m",
		"STORECAST_KAFKA_JMX_PORT=", // no metrics agent (and no port clash with the stack's)
	)
	b.Config = kafka.Config{Brokers: []string{"127.0.0.1:" + strconv.Itoa(ports[0])}, ClientID: "storecast-test"}
	t.Cleanup(b.Kill)
	b.start()
	return b
}

// Kill stops the broker with SIGKILL (a crash: nothing is flushed) and waits
// until the process is gone. A stopped broker is left alone.
func (b *Broker) Kill() { b.stop(syscall.SIGKILL) }

// Stop stops the broker with SIGTERM (a clean shutdown) and waits.
func (b *Broker) Stop() { b.stop(syscall.SIGTERM) }

// Restart starts the stopped broker again on the same ports and log folder
// and waits until it answers.
func (b *Broker) Restart() {
	b.t.Helper()
	b.mu.Lock()
	running := b.cmd != nil
	b.mu.Unlock()
	if running {
		b.t.Fatal("private broker: Restart while it runs; Kill or Stop it first")
	}
	b.start()
}

func (b *Broker) start() {
	b.t.Helper()
	cmd := exec.Command("bash", b.script, "run")
	cmd.Env = b.env
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("private broker: start: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	b.mu.Lock()
	b.cmd, b.out, b.done = cmd, out, done
	b.mu.Unlock()
	if err := b.waitReady(done); err != nil {
		b.Kill()
		b.t.Fatalf("private broker: %v\n--- output ---\n%s\n--- broker log: %s", err, out.String(),
			filepath.Join(b.stateDir, "logs", "kafka.log"))
	}
}

// waitReady waits until the broker answers a metadata request.
func (b *Broker) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(brokerStartTimeout)
	sc := b.Config.Sarama()
	sc.Net.DialTimeout = 2 * time.Second
	sc.Metadata.Retry.Max = 0
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("the broker exited while starting")
		default:
		}
		client, err := sarama.NewClient(b.Config.Brokers, sc)
		if err == nil {
			err = partitionsLead(client)
			_ = client.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-exited:
			return errors.New("the broker exited while starting")
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer within %s: %w", brokerStartTimeout, last)
}

// partitionsLead checks that the broker leads every partition of every
// topic it holds: after a restart it answers metadata requests before it
// has loaded its logs, and clients then get "not the leader" for a while.
func partitionsLead(client sarama.Client) error {
	ts, err := client.Topics()
	if err != nil {
		return err
	}
	for _, topic := range ts {
		parts, err := client.Partitions(topic)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if _, err := client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
				return fmt.Errorf("%s/%d: %w", topic, p, err)
			}
		}
	}
	return nil
}

func (b *Broker) stop(sig syscall.Signal) {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	// The script execs the JVM, so the child is the broker; its group
	// catches a JVM started before the exec (formatting).
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// SyncBuffer is a bytes.Buffer that goroutines may write while the test
// reads it (a process's output, a logger's).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *SyncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *SyncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
