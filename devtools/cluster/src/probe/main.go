// probe: the test-only helper of tests/k8s, a static binary in a FROM-scratch image.
//
//	probe sleep                   block until SIGTERM (a pod to exec into)
//	probe serve PORT              HTTP server answering with the pod's hostname
//	probe lookup NAME             resolve NAME (Go's resolver, /etc/resolv.conf), print the IPs
//	probe get URL                 HTTP GET, print the body
//	probe connect HOST:PORT SECS  TCP connect; exit 0 on success
//	probe routes                  print the IPv4 routing table (/proc/net/route)
//	probe write PATH TEXT         write TEXT to PATH, read it back, print it
//	probe id                      print uid and gid
//	probe kube PATH               GET https://kubernetes.default.svc+PATH with the pod's
//	                              service-account token (what in-cluster clients do)
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: probe sleep|serve|lookup|get|connect|routes|write|id ...")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "sleep":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
	case "serve":
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, host) })
		fail("%v", http.ListenAndServe(":"+args[0], nil))
	case "lookup":
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, args[0])
		if err != nil {
			fail("lookup %s: %v", args[0], err)
		}
		for _, a := range addrs {
			fmt.Println(a)
		}
	case "get":
		client := http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get(args[0])
		if err != nil {
			fail("get %s: %v", args[0], err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Print(string(body))
		if resp.StatusCode != http.StatusOK {
			fail("get %s: HTTP %d", args[0], resp.StatusCode)
		}
	case "connect":
		secs, _ := strconv.Atoi(args[1])
		conn, err := net.DialTimeout("tcp", args[0], time.Duration(secs)*time.Second)
		if err != nil {
			fail("connect %s: %v", args[0], err)
		}
		conn.Close()
		fmt.Println("connected")
	case "routes":
		data, err := os.ReadFile("/proc/net/route")
		if err != nil {
			fail("%v", err)
		}
		fmt.Print(string(data))
	case "write":
		if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
			fail("write %s: %v", args[0], err)
		}
		data, err := os.ReadFile(args[0])
		if err != nil {
			fail("read %s: %v", args[0], err)
		}
		fmt.Print(string(data))
	case "kube":
		kube(args[0])
	case "id":
		fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	default:
		fail("unknown command %q", os.Args[1])
	}
}

func kube(path string) {
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
	token, err := os.ReadFile(sa + "token")
	if err != nil {
		fail("%v", err)
	}
	caPEM, err := os.ReadFile(sa + "ca.crt")
	if err != nil {
		fail("%v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	req, _ := http.NewRequest("GET", "https://kubernetes.default.svc"+path, nil)
	req.Header.Set("Authorization", "Bearer "+string(token))
	resp, err := client.Do(req)
	if err != nil {
		fail("kube %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	if resp.StatusCode != http.StatusOK {
		fail("kube %s: HTTP %d", path, resp.StatusCode)
	}
}
