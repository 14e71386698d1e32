// Package mariadbtest runs a real MariaDB server for tests: Debian's
// mariadbd (package mariadb-server), in a fresh data directory made by
// mariadb-install-db, listening on a free loopback port. It stands in for
// the MySQL-compatible database that coordinates Tessera's storage/aws
// driver and holds exhibit's index when an archive spans several machines.
//
// Install the server with
//
//	apt-get install mariadb-server
//
// as exhibit's .ci/run does. When mariadbd or mariadb-install-db is
// missing, [Start] fails the test if the environment variable CI is
// "true", and skips it otherwise. Run as root, the server runs as the
// mysql user (mariadbd refuses to run as root), which then owns its data
// and socket directories.
//
// The server keeps its default connection limit (max_connections 151), so
// that a test sees the limit a real deployment hits.
package mariadbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/ledger/internal/proctest"
)

// install is the command that installs the server, for skip messages.
const install = "apt-get install mariadb-server (Debian's MariaDB server: mariadbd and mariadb-install-db)"

// User and Password are the credentials of the account Start creates,
// allowed everything from 127.0.0.1.
const (
	User     = "exhibit"
	Password = "exhibit-test-password"
)

// Server is a running mariadbd.
type Server struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// Socket is the server's unix socket.
	Socket string

	t       testing.TB
	bin     string
	dir     string // holds data/, the socket, the pid file and the error log
	runAs   *user.User
	cmd     *exec.Cmd
	exited  chan struct{}
	errLog  string
	dbCount atomic.Int64
	paused  bool
}

// Start starts a MariaDB server with a fresh data directory; it is stopped,
// and its directory removed, when the test ends. It creates the account
// [User] with [Password] for TCP connections from 127.0.0.1.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := find(t, "mariadbd")
	installDB := find(t, "mariadb-install-db")
	// t.TempDir is mode 0700 and owned by the test's user: the mysql user
	// could not enter it. Use a directory of our own.
	dir, err := os.MkdirTemp("", "mariadbtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Addr:   "127.0.0.1:" + strconv.Itoa(proctest.FreePort(t)),
		Socket: filepath.Join(dir, "mysqld.sock"),
		t:      t,
		bin:    bin,
		dir:    dir,
		errLog: filepath.Join(dir, "error.log"),
	}
	// Its temporary files too: servers of tests run in parallel would
	// otherwise share /tmp's #sql-temptable files (mariadb-install-db
	// failed on one, once).
	if err := os.Mkdir(s.tmpDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if s.runAs, err = user.Lookup("mysql"); err != nil {
			t.Fatalf("running as root, mariadbd needs the mysql user (made by the mariadb-server package): %v", err)
		}
		if err := s.chown(dir); err != nil {
			t.Fatal(err)
		}
		if err := s.chown(s.tmpDir()); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--no-defaults", "--datadir=" + s.dataDir(), "--tmpdir=" + s.tmpDir(), "--auth-root-authentication-method=normal", "--skip-test-db"}
	if s.runAs != nil {
		args = append(args, "--user="+s.runAs.Username)
	}
	out, err := exec.Command(installDB, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db %v: %v\n%s", args, err, out)
	}
	s.Restart()
	t.Cleanup(s.Stop)
	db := s.rootDB()
	defer db.Close()
	for _, q := range []string{
		fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'", User, Password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1' WITH GRANT OPTION", User),
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return s
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

func (s *Server) tmpDir() string { return filepath.Join(s.dir, "tmp") }

func (s *Server) chown(path string) error {
	uid, _ := strconv.Atoi(s.runAs.Uid)
	gid, _ := strconv.Atoi(s.runAs.Gid)
	return os.Chown(path, uid, gid)
}

// find returns the path of the named binary, from PATH or /usr/sbin (where
// Debian installs mariadbd), or fails or skips t.
func find(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed (not in PATH, /usr/sbin or /usr/bin); install it with: %s", name, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Restart runs the server (again, after Stop or Kill) on the same port and
// data directory, and waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{
		"--no-defaults",
		"--datadir=" + s.dataDir(),
		"--tmpdir=" + s.tmpDir(),
		"--socket=" + s.Socket,
		"--pid-file=" + filepath.Join(s.dir, "mysqld.pid"),
		"--log-error=" + s.errLog,
		"--bind-address=127.0.0.1",
		"--port=" + port,
		"--skip-name-resolve",
		// Small and quick to start: tests hold little data.
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=16M",
		"--skip-log-bin",
	}
	if s.runAs != nil {
		args = append(args, "--user="+s.runAs.Username)
	}
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting mariadbd: %v", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	db := s.rootDB()
	defer db.Close()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-s.exited:
			s.cmd = nil
			s.t.Fatalf("mariadbd exited at start:\n%s", s.ErrorLog())
		default:
		}
		ctx, cancel := context.WithTimeout(s.t.Context(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
	}
	s.Kill()
	s.t.Fatalf("mariadbd does not accept connections on %s within 60s:\n%s", s.Socket, s.ErrorLog())
}

// Stop shuts the server down cleanly (SIGTERM) and waits for it to exit.
// It is safe to call when the server is not running.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill kills the server (SIGKILL), as a crash would, and waits for it to
// exit; InnoDB recovers at the next Restart.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

func (s *Server) stop(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	if s.paused && sig != syscall.SIGKILL {
		s.cmd.Process.Signal(syscall.SIGCONT)
	}
	s.paused = false
	s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Pause stops the server with SIGSTOP, as a server that hangs: the
// kernel still accepts TCP connections to it, and nothing answers.
// Resume continues it; a paused server is resumed when the test ends.
func (s *Server) Pause() {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatal("mariadbtest: Pause of a server that is not running")
	}
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("mariadbtest: SIGSTOP: %v", err)
	}
	s.paused = true
	// The signal is delivered to each thread in its own time: until
	// every one has stopped, a connection may still be answered.
	for deadline := time.Now().Add(5 * time.Second); !stopped(s.cmd.Process.Pid); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("mariadbtest: the server's threads not all stopped 5 s after SIGSTOP")
		}
	}
}

// stopped reports whether every thread of process pid is stopped (state
// T in /proc/pid/task/*/stat).
func stopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		// pid (comm) state ...: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}

// Resume continues a server stopped with Pause (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	if s.cmd == nil || !s.paused {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("mariadbtest: SIGCONT: %v", err)
	}
	s.paused = false
}

// ErrorLog returns the server's error log, for failure messages.
func (s *Server) ErrorLog() string {
	b, err := os.ReadFile(s.errLog)
	if err != nil {
		return fmt.Sprintf("(no error log: %v)", err)
	}
	return string(b)
}

// rootDB connects as root over the unix socket (root has no password, and
// may connect only as root@localhost).
func (s *Server) rootDB() *sql.DB {
	s.t.Helper()
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "unix", s.Socket
	conn, err := mysql.NewConnector(c)
	if err != nil {
		s.t.Fatal(err)
	}
	return sql.OpenDB(conn)
}

// Config returns the driver configuration of a connection as [User] over
// TCP to the database named db (which need not exist: see NewDatabase).
func (s *Server) Config(db string) *mysql.Config {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = User, Password, "tcp", s.Addr, db
	c.ParseTime = true
	return c
}

// DSN returns the data source name (go-sql-driver/mysql form) of a
// connection as [User] over TCP to the database named db.
func (s *Server) DSN(db string) string { return s.Config(db).FormatDSN() }

// NewDatabase creates a new, empty database and returns its name
// ("exhibit_test_1", ...).
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("exhibit_test_%d", s.dbCount.Add(1))
	db := s.rootDB()
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	return name
}

// Connections returns the number of client connections the server has
// open now (its Threads_connected status).
func (s *Server) Connections(ctx context.Context) (int, error) {
	db := s.rootDB()
	defer db.Close()
	db.SetMaxOpenConns(1)
	var name string
	var n int
	if err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Threads_connected'").Scan(&name, &n); err != nil {
		return 0, err
	}
	return n - 1, nil // less this connection
}
