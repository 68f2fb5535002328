/*
 * streamboot-nbd: connects a kernel NBD device to a Streamboot export and
 * keeps it connected.
 *
 *   streamboot-nbd [-t S] [-r S] [-R] [-w S] [-f] [-s HOST:PORT,...] HOST PORT EXPORT /dev/nbdN
 *
 * nbd-client (3.24) hands its socket to the kernel and, when that
 * connection drops, either exits (netlink) or lets the kernel fail every
 * queued request before it reconnects (ioctl, -persist): a root file
 * system on the device sees I/O errors. This program configures the device
 * over the kernel's generic netlink interface with a dead-connection
 * timeout, so that I/O waits instead of failing while no connection is
 * live, and stays resident: when its connection drops (the server was
 * restarted, the network went away) it connects again, repeats the NBD
 * handshake and gives the kernel the new socket (NBD_CMD_RECONFIGURE); the
 * kernel then resends what was in flight. A request the server does not
 * answer within the request timeout (-t) is retried on the next connection.
 *
 * Plain C and the kernel's UAPI headers, no libnl: it runs from an
 * initramfs and must not page anything in from the disk it serves (it
 * locks itself in memory). Messages go to stderr until it detaches, then to
 * the kernel log (dmesg, the console).
 *
 * In a farm (-s), the other servers that can continue the same boot are
 * tried in turn when HOST does not answer: the boot's key, version and
 * write cache are the farm's, not one server's, so the new server carries
 * on where the dead one stopped and the kernel resends what was in flight.
 * A server that says the export is not available now (NBD_REP_ERR_SHUTDOWN,
 * NBD_REP_ERR_PLATFORM: it is going down, or another server still holds
 * the session) is tried again; any other refusal, held for long enough by
 * every server, is final.
 *
 * The NBD handshake follows the NBD project's doc/proto.md: fixed newstyle,
 * NBD_OPT_GO with NBD_INFO_BLOCK_SIZE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/nbd.h>
#include <linux/netlink.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define NBD_MAGIC_INIT 0x4e42444d41474943ULL /* "NBDMAGIC" */
#define NBD_MAGIC_OPTS 0x49484156454F5054ULL /* "IHAVEOPT" */
#define NBD_MAGIC_REPLY 0x0003e889045565a9ULL
#define NBD_FLAG_FIXED_NEWSTYLE 1
#define NBD_FLAG_NO_ZEROES 2
#define NBD_OPT_ABORT 2
#define NBD_OPT_GO 7
#define NBD_REP_ACK 1
#define NBD_REP_INFO 3
#define NBD_REP_FLAG_ERROR 0x80000000U
#define NBD_REP_ERR_PLATFORM 0x80000004U
#define NBD_REP_ERR_SHUTDOWN 0x80000007U
#define MAX_SERVERS 16
#define NBD_INFO_EXPORT 0
#define NBD_INFO_BLOCK_SIZE 3
#define NBD_FLAG_READ_ONLY_BIT (1 << 1)

/* How long the server may refuse the export before we believe it. */
#define REFUSED_GIVE_UP_MS 30000U

/* "Forever" for the dead-connection timeout: the kernel wants a number. */
#define FOREVER_SECONDS (10ULL * 365 * 24 * 3600)

struct export_info {
	uint64_t size;
	uint16_t flags;
	uint32_t min_block, pref_block;
};

static const char *progname = "streamboot-nbd";
static volatile sig_atomic_t stopping; /* SIGTERM, SIGINT: disconnect and go */
static int kmsg = -1; /* after detaching: log to the kernel log */
static int quiet;

static void say(int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (quiet && level >= 6)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (kmsg >= 0) {
		/* One write, one record of the kernel log. */
		char record[600];
		int len = snprintf(record, sizeof record, "<%d>%s: %s\n", level, progname, line);
		if (len > (int)sizeof record - 1)
			len = (int)sizeof record - 1;
		if (write(kmsg, record, (size_t)len) < 0) {
			int console = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
			if (console >= 0) {
				dprintf(console, "%s: %s (kmsg: %s)\n", progname, line, strerror(errno));
				close(console);
			}
		}
	} else {
		fprintf(stderr, "%s: %s\n", progname, line);
	}
}

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) < 0 && errno == EINTR && !stopping)
		;
}

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static unsigned char *put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		*p++ = (unsigned char)(v >> (i * 8));
	return p;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	*p++ = (unsigned char)(v >> 24);
	*p++ = (unsigned char)(v >> 16);
	*p++ = (unsigned char)(v >> 8);
	*p++ = (unsigned char)v;
	return p;
}

static unsigned char *put16(unsigned char *p, uint16_t v)
{
	*p++ = (unsigned char)(v >> 8);
	*p++ = (unsigned char)v;
	return p;
}

static int read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A connected TCP socket to HOST:PORT, or -1 with the reason in *why. */
static int tcp_connect(const char *host, const char *port, char *why, size_t whylen)
{
	struct addrinfo hints = { 0 }, *res, *ai;
	int fd = -1, rc, one = 1;
	struct timeval tv = { 10, 0 };

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		/* Bounded waits for the connect and the handshake only. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		snprintf(why, whylen, "connect to %s port %s: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* A server that vanished without a word is noticed within ~25 s. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	int idle = 10, intvl = 5, cnt = 3;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	return fd;
}

/*
 * The fixed-newstyle handshake up to the transmission phase, with
 * NBD_OPT_GO. Returns 0, or -1 with the reason in *why; *permanent says the
 * server answered (and refused) rather than the network failing.
 */
static int handshake(int fd, const char *name, const char *export, struct export_info *info, char *why, size_t whylen, int *permanent)
{
	unsigned char hello[18], buf[64], *p;
	size_t namelen = strlen(name);
	uint16_t server_flags;
	uint32_t client_flags;
	int got_export = 0;

	*permanent = 0;
	if (read_all(fd, hello, sizeof hello) < 0) {
		snprintf(why, whylen, "handshake: %s", strerror(errno));
		return -1;
	}
	if (be64(hello) != NBD_MAGIC_INIT || be64(hello + 8) != NBD_MAGIC_OPTS) {
		snprintf(why, whylen, "handshake: not a newstyle NBD server");
		*permanent = 1;
		return -1;
	}
	server_flags = be16(hello + 16);
	if (!(server_flags & NBD_FLAG_FIXED_NEWSTYLE)) {
		snprintf(why, whylen, "handshake: the server does not speak fixed newstyle");
		*permanent = 1;
		return -1;
	}
	client_flags = NBD_FLAG_FIXED_NEWSTYLE | (server_flags & NBD_FLAG_NO_ZEROES);
	put32(buf, client_flags);
	if (write_all(fd, buf, 4) < 0)
		goto io;

	/* NBD_OPT_GO: export name, and we want the block-size constraints. */
	unsigned char *opt = malloc(16 + 4 + namelen + 4);
	if (!opt) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	p = put64(opt, NBD_MAGIC_OPTS);
	p = put32(p, NBD_OPT_GO);
	p = put32(p, (uint32_t)(4 + namelen + 4));
	p = put32(p, (uint32_t)namelen);
	memcpy(p, name, namelen);
	p += namelen;
	p = put16(p, 1);
	p = put16(p, NBD_INFO_BLOCK_SIZE);
	if (write_all(fd, opt, (size_t)(p - opt)) < 0) {
		free(opt);
		goto io;
	}
	free(opt);

	info->min_block = 1;
	info->pref_block = 4096;
	for (;;) {
		unsigned char rep[20];
		uint32_t type, len;
		if (read_all(fd, rep, sizeof rep) < 0)
			goto io;
		if (be64(rep) != NBD_MAGIC_REPLY) {
			snprintf(why, whylen, "handshake: bad option reply magic");
			*permanent = 1;
			return -1;
		}
		type = be32(rep + 12);
		len = be32(rep + 16);
		if (len > 65536) {
			snprintf(why, whylen, "handshake: option reply of %u bytes", len);
			*permanent = 1;
			return -1;
		}
		unsigned char *data = malloc(len + 1);
		if (!data) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		if (len && read_all(fd, data, len) < 0) {
			free(data);
			goto io;
		}
		data[len] = 0;
		if (type & NBD_REP_FLAG_ERROR) {
			snprintf(why, whylen, "the server refused export '%s': %s (error 0x%x)", export,
				 len ? (char *)data : "no reason given", type);
			free(data);
			/* Not available now (going down, held by another server): try again. */
			*permanent = type != NBD_REP_ERR_SHUTDOWN && type != NBD_REP_ERR_PLATFORM;
			return -1;
		}
		if (type == NBD_REP_INFO && len >= 2) {
			uint16_t it = be16(data);
			if (it == NBD_INFO_EXPORT && len >= 12) {
				info->size = be64(data + 2);
				info->flags = be16(data + 10);
				got_export = 1;
			} else if (it == NBD_INFO_BLOCK_SIZE && len >= 14) {
				info->min_block = be32(data + 2);
				info->pref_block = be32(data + 6);
			}
		}
		free(data);
		if (type == NBD_REP_ACK)
			break;
	}
	if (!got_export) {
		snprintf(why, whylen, "handshake: the server sent no export information");
		*permanent = 1;
		return -1;
	}
	/* The kernel owns the socket from here: no timeouts of ours on it. */
	struct timeval zero = { 0, 0 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
	return 0;
io:
	snprintf(why, whylen, "handshake: %s", strerror(errno));
	return -1;
}

/* ---- generic netlink ---- */

struct nlmsg {
	union {
		struct nlmsghdr hdr;
		unsigned char raw[1024];
	} u;
};

static void nl_begin(struct nlmsg *m, uint16_t type, uint16_t flags, uint8_t cmd, uint8_t version)
{
	memset(m, 0, sizeof *m);
	m->u.hdr.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->u.hdr.nlmsg_type = type;
	m->u.hdr.nlmsg_flags = NLM_F_REQUEST | flags;
	m->u.hdr.nlmsg_seq = (uint32_t)now_ms();
	struct genlmsghdr *g = NLMSG_DATA(&m->u.hdr);
	g->cmd = cmd;
	g->version = version;
}

static struct nlattr *nl_put(struct nlmsg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->u.raw + NLMSG_ALIGN(m->u.hdr.nlmsg_len));
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
	m->u.hdr.nlmsg_len = NLMSG_ALIGN(m->u.hdr.nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static void nl_put_u32(struct nlmsg *m, uint16_t type, uint32_t v) { nl_put(m, type, &v, sizeof v); }
static void nl_put_u64(struct nlmsg *m, uint16_t type, uint64_t v) { nl_put(m, type, &v, sizeof v); }

static struct nlattr *nl_nest(struct nlmsg *m, uint16_t type)
{
	return nl_put(m, (uint16_t)(type | NLA_F_NESTED), NULL, 0);
}

static void nl_nest_end(struct nlmsg *m, struct nlattr *nest)
{
	nest->nla_len = (uint16_t)(m->u.raw + m->u.hdr.nlmsg_len - (unsigned char *)nest);
}

/*
 * Sends the message and reads the answer: the family id for
 * CTRL_CMD_GETFAMILY (into *family), and the ACK's error. Returns 0 or
 * -errno.
 */
static int nl_talk(int nl, struct nlmsg *m, uint16_t *family)
{
	unsigned char buf[8192];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(nl, m->u.raw, m->u.hdr.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;
			}
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (family && h->nlmsg_type == GENL_ID_CTRL) {
				int len = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
				struct nlattr *a = (struct nlattr *)((unsigned char *)NLMSG_DATA(h) + GENL_HDRLEN);
				while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
					if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
						memcpy(family, (unsigned char *)a + NLA_HDRLEN, sizeof *family);
					len -= NLA_ALIGN(a->nla_len);
					a = (struct nlattr *)((unsigned char *)a + NLA_ALIGN(a->nla_len));
				}
			}
		}
	}
}

static int nbd_family(int nl, uint16_t *family)
{
	struct nlmsg m;
	nl_begin(&m, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	nl_put(&m, CTRL_ATTR_FAMILY_NAME, NBD_GENL_FAMILY_NAME, sizeof NBD_GENL_FAMILY_NAME);
	*family = 0;
	int rc = nl_talk(nl, &m, family);
	if (rc == 0 && *family == 0)
		rc = -ENOENT;
	return rc;
}

struct server {
	char host[256], port[16];
};

struct settings {
	/* export: the name shown in messages; name: what the handshake sends (EXPORT/KEY with a key). */
	const char *host, *port, *export, *name, *device;
	/* servers[0] is HOST PORT; the rest came with -s (a farm's others). */
	struct server servers[MAX_SERVERS];
	unsigned nservers, current;
	uint32_t index;
	uint64_t timeout, dead_timeout;
	int readonly;
	unsigned wait_seconds;
	int foreground;
};

static int nbd_connect_device(int nl, uint16_t family, const struct settings *s, const struct export_info *info, int sock)
{
	struct nlmsg m;
	uint64_t flags = info->flags;
	uint64_t block = 512;

	if (s->readonly)
		flags |= NBD_FLAG_READ_ONLY_BIT;
	/* Sector-sized logical blocks unless the server insists on more. */
	if (info->min_block > block && info->min_block <= 4096)
		block = info->min_block;
	nl_begin(&m, family, NLM_F_ACK, NBD_CMD_CONNECT, NBD_GENL_VERSION);
	nl_put_u32(&m, NBD_ATTR_INDEX, s->index);
	nl_put_u64(&m, NBD_ATTR_SIZE_BYTES, info->size);
	nl_put_u64(&m, NBD_ATTR_BLOCK_SIZE_BYTES, block);
	nl_put_u64(&m, NBD_ATTR_SERVER_FLAGS, flags);
	nl_put_u64(&m, NBD_ATTR_TIMEOUT, s->timeout);
	nl_put_u64(&m, NBD_ATTR_DEAD_CONN_TIMEOUT, s->dead_timeout);
	struct nlattr *socks = nl_nest(&m, NBD_ATTR_SOCKETS);
	struct nlattr *item = nl_nest(&m, NBD_SOCK_ITEM);
	nl_put_u32(&m, NBD_SOCK_FD, (uint32_t)sock);
	nl_nest_end(&m, item);
	nl_nest_end(&m, socks);
	return nl_talk(nl, &m, NULL);
}

static int nbd_reconnect_device(int nl, uint16_t family, const struct settings *s, int sock)
{
	struct nlmsg m;
	nl_begin(&m, family, NLM_F_ACK, NBD_CMD_RECONFIGURE, NBD_GENL_VERSION);
	nl_put_u32(&m, NBD_ATTR_INDEX, s->index);
	struct nlattr *socks = nl_nest(&m, NBD_ATTR_SOCKETS);
	struct nlattr *item = nl_nest(&m, NBD_SOCK_ITEM);
	nl_put_u32(&m, NBD_SOCK_FD, (uint32_t)sock);
	nl_nest_end(&m, item);
	nl_nest_end(&m, socks);
	return nl_talk(nl, &m, NULL);
}

static int nbd_disconnect_device(int nl, uint16_t family, const struct settings *s)
{
	struct nlmsg m;
	nl_begin(&m, family, NLM_F_ACK, NBD_CMD_DISCONNECT, NBD_GENL_VERSION);
	nl_put_u32(&m, NBD_ATTR_INDEX, s->index);
	return nl_talk(nl, &m, NULL);
}

/*
 * SIGTERM or SIGINT (an init's shutdown after it remounted the root
 * read-only, or an admin): disconnect the device as nbd-client -d does, so
 * the server ends the session now instead of holding it for a machine
 * that is gone. systemd leaves us alone (the '@' mark).
 */
static int stop_now(int nl, uint16_t family, const struct settings *s)
{
	int rc = nbd_disconnect_device(nl, family, s);
	if (rc < 0)
		say(3, "%s: disconnect: %s", s->device, strerror(-rc));
	else
		say(5, "%s: disconnected (stopped by a signal)", s->device);
	return rc < 0 ? 1 : 0;
}

/* Adds HOST:PORT or [V6]:PORT (a NUL-terminated token) to the servers; 0 when it is not one. */
static int add_server(struct settings *s, const char *token)
{
	const char *host = token, *port;
	size_t hostlen;
	if (s->nservers >= MAX_SERVERS)
		return 1; /* more than we keep: the rest are left out */
	if (token[0] == '[') {
		const char *close = strchr(token, ']');
		if (!close || close[1] != ':')
			return 0;
		host = token + 1;
		hostlen = (size_t)(close - host);
		port = close + 2;
	} else {
		const char *colon = strrchr(token, ':');
		if (!colon)
			return 0;
		hostlen = (size_t)(colon - token);
		port = colon + 1;
	}
	size_t portlen = strlen(port);
	if (hostlen == 0 || hostlen >= sizeof s->servers[0].host || portlen == 0 || portlen > 5 ||
	    strspn(port, "0123456789") != portlen)
		return 0;
	struct server *v = &s->servers[s->nservers++];
	memcpy(v->host, host, hostlen);
	v->host[hostlen] = 0;
	memcpy(v->port, port, portlen + 1);
	return 1;
}

/* Adds every server of a comma-separated list; 0 at the first that is not one. */
static int add_servers(struct settings *s, const char *list)
{
	char token[300];
	while (*list) {
		size_t n = strcspn(list, ",");
		if (n > 0) {
			if (n >= sizeof token)
				return 0;
			memcpy(token, list, n);
			token[n] = 0;
			if (!add_server(s, token))
				return 0;
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return 1;
}

/* Makes server i the current one (s->host, s->port). */
static void use_server(struct settings *s, unsigned i)
{
	s->current = i;
	s->host = s->servers[i].host;
	s->port = s->servers[i].port;
}

/* One connection up to the transmission phase, or -1 with the reason in why. */
static int open_session(const struct settings *s, struct export_info *info, int *permanent, char *why, size_t whylen)
{
	int fd = tcp_connect(s->host, s->port, why, whylen);
	*permanent = 0;
	if (fd < 0)
		return -1;
	if (handshake(fd, s->name, s->export, info, why, whylen, permanent) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: streamboot-nbd [options] HOST PORT EXPORT /dev/nbdN\n"
		"Connects the kernel NBD device to EXPORT on HOST:PORT and keeps it\n"
		"connected: when the connection drops, I/O waits and the device is\n"
		"reconnected as soon as the server answers again.\n"
		"  -t, --timeout S    a request unanswered for S s is retried on a new\n"
		"                     connection (default 10)\n"
		"  -r, --reconnect S  how long I/O waits for the server before it fails\n"
		"                     (default 0: for ever)\n"
		"  -w, --wait S       keep trying the first connection for S s (default 60)\n"
		"  -R, --readonly     a read-only device\n"
		"  -f, --foreground   do not detach after connecting\n"
		"  -s, --servers LIST other servers of the farm, HOST:PORT,...: tried in\n"
		"                     turn when this one does not answer (the same boot\n"
		"                     continues there); may be given more than once\n"
		"  -q, --quiet        only warnings and errors\n"
		"The boot's key, when the export needs one, comes in the environment\n"
		"variable STREAMBOOT_KEY (never an argument: any user can read those);\n"
		"the handshake then names EXPORT/KEY.\n");
}

static unsigned long parse_seconds(const char *what, const char *text)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || *end || end == text || v > 100UL * 365 * 24 * 3600) {
		fprintf(stderr, "%s: %s '%s' is not a number of seconds\n", progname, what, text);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, 0, 't' }, { "reconnect", required_argument, 0, 'r' },
		{ "wait", required_argument, 0, 'w' },	  { "readonly", no_argument, 0, 'R' },
		{ "foreground", no_argument, 0, 'f' },	  { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },	  { "servers", required_argument, 0, 's' },
		{ 0, 0, 0, 0 },
	};
	static struct settings s = { .timeout = 10, .dead_timeout = 0, .wait_seconds = 60 };
	const char *lists[MAX_SERVERS];
	unsigned nlists = 0;
	int c;

	while ((c = getopt_long(argc, argv, "t:r:w:s:Rfqh", longopts, NULL)) != -1) {
		switch (c) {
		case 't': s.timeout = parse_seconds("--timeout", optarg); break;
		case 'r': s.dead_timeout = parse_seconds("--reconnect", optarg); break;
		case 'w': s.wait_seconds = (unsigned)parse_seconds("--wait", optarg); break;
		case 'R': s.readonly = 1; break;
		case 'f': s.foreground = 1; break;
		case 'q': quiet = 1; break;
		case 's':
			if (nlists < MAX_SERVERS)
				lists[nlists++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 4) {
		usage(stderr);
		return 2;
	}
	char primary[300];
	if (snprintf(primary, sizeof primary, strchr(argv[optind], ':') ? "[%s]:%s" : "%s:%s", argv[optind], argv[optind + 1]) >= (int)sizeof primary ||
	    !add_server(&s, primary)) {
		fprintf(stderr, "%s: '%s' port '%s' is not a server to connect to\n", progname, argv[optind], argv[optind + 1]);
		return 2;
	}
	for (unsigned i = 0; i < nlists; i++) {
		if (!add_servers(&s, lists[i])) {
			fprintf(stderr, "%s: --servers '%s' is not a list of HOST:PORT,...\n", progname, lists[i]);
			return 2;
		}
	}
	use_server(&s, 0);
	s.export = argv[optind + 2];
	s.device = argv[optind + 3];
	s.name = s.export;
	char *key = getenv("STREAMBOOT_KEY");
	if (key && *key) {
		size_t n = strlen(key);
		if (n != 32 || strspn(key, "0123456789abcdef") != n) {
			fprintf(stderr, "%s: STREAMBOOT_KEY is not a boot's key (32 lower-case hex digits)\n", progname);
			return 2;
		}
		char *name = malloc(strlen(s.export) + 1 + n + 1);
		if (!name) {
			fprintf(stderr, "%s: out of memory\n", progname);
			return 1;
		}
		sprintf(name, "%s/%s", s.export, key);
		s.name = name;
		/* Only root can read our environment, but it need not hold the key for ever. */
		memset(key, 'x', n);
		unsetenv("STREAMBOOT_KEY");
	}
	if (s.timeout == 0) {
		fprintf(stderr, "%s: --timeout 0 would leave a request lost with a connection waiting for ever; give seconds\n", progname);
		return 2;
	}
	if (s.dead_timeout == 0)
		s.dead_timeout = FOREVER_SECONDS;

	struct stat st;
	if (stat(s.device, &st) < 0 || !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "%s: %s is not a block device (is the nbd module loaded?)\n", progname, s.device);
		return 1;
	}
	const char *digits = s.device + strcspn(s.device, "0123456789");
	if (strncmp(s.device, "/dev/nbd", 8) != 0 || !*digits) {
		fprintf(stderr, "%s: %s is not an NBD device (/dev/nbdN)\n", progname, s.device);
		return 1;
	}
	s.index = (uint32_t)strtoul(digits, NULL, 10);

	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	uint16_t family;
	int rc = nl < 0 ? -errno : nbd_family(nl, &family);
	if (rc < 0) {
		fprintf(stderr, "%s: the kernel's NBD netlink interface is missing (%s); load the nbd module (kernel 4.12 or newer)\n",
			progname, strerror(-rc));
		return 1;
	}

	/* The first connection: keep trying for --wait seconds. */
	struct export_info info = { 0 };
	int permanent, sock = -1;
	char why[300] = "";
	uint64_t deadline = now_ms() + (uint64_t)s.wait_seconds * 1000;
	for (unsigned tried = 0;; tried++) {
		sock = open_session(&s, &info, &permanent, why, sizeof why);
		if (sock >= 0 || now_ms() >= deadline)
			break;
		use_server(&s, (s.current + 1) % s.nservers);
		/* A pause after each round of the farm's servers, none between them. */
		if ((tried + 1) % s.nservers == 0)
			sleep_ms(1000);
	}
	if (sock < 0) {
		fprintf(stderr, "%s: no connection to %s port %s export %s within %u s: %s\n", progname, s.host, s.port,
			s.export, s.wait_seconds, why);
		return 1;
	}
	if (!s.readonly && (info.flags & NBD_FLAG_READ_ONLY_BIT))
		say(4, "export %s is read-only on the server", s.export);
	rc = nbd_connect_device(nl, family, &s, &info, sock);
	if (rc < 0) {
		fprintf(stderr, "%s: the kernel refused to connect %s: %s%s\n", progname, s.device, strerror(-rc),
			rc == -EBUSY ? " (it is connected already)" : "");
		return 1;
	}
	say(6, "%s connected to %s port %s export %s (%llu bytes)", s.device, s.host, s.port, s.export,
	    (unsigned long long)info.size);

	if (!s.foreground) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "%s: fork: %s\n", progname, strerror(errno));
			return 1;
		}
		if (pid > 0)
			return 0;
		setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		if (chdir("/") < 0) {
			/* nothing to do: / always exists */
		}
	}
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	/*
	 * Nothing of ours may be paged in from the disk we serve, the OOM
	 * killer must leave us alone, and systemd's shutdown spares processes
	 * whose argv[0] starts with '@' (as nbd-client -systemd-mark does).
	 */
	mlockall(MCL_CURRENT | MCL_FUTURE);
	int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (adj >= 0) {
		if (write(adj, "-1000", 5) < 0) {
			/* not fatal */
		}
		close(adj);
	}
	argv[0][0] = '@';
	signal(SIGPIPE, SIG_IGN);
	struct sigaction stop = { .sa_handler = on_stop }; /* no SA_RESTART: poll returns */
	sigemptyset(&stop.sa_mask);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);

	/*
	 * We keep our own descriptor of the socket the kernel uses: it reports
	 * the peer closing (POLLRDHUP) or the kernel shutting it down after a
	 * request timeout (POLLHUP) without taking any of the kernel's data.
	 */
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLRDHUP };
		if (stopping)
			return stop_now(nl, family, &s);
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			say(3, "poll: %s", strerror(errno));
			sleep_ms(1000);
			continue;
		}
		if (!(p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			continue;
		say(4, "%s: connection to %s port %s lost; I/O waits while reconnecting", s.device, s.host, s.port);
		close(sock);
		sock = -1;
		uint64_t lost = now_ms(), refused_since = 0;
		unsigned delay = 250, attempts = 0;
		/* Which servers' last answer was a refusal for good: all of them, long enough, and we give up. */
		unsigned char refusing[MAX_SERVERS] = { 0 };
		for (;;) {
			struct export_info again = { 0 };
			if (stopping)
				return stop_now(nl, family, &s);
			attempts++;
			int fd = open_session(&s, &again, &permanent, why, sizeof why);
			/* Say why now and then, and at the first refusal. */
			if (fd < 0 && (attempts % 20 == 1 || (permanent && !refused_since)))
				say(4, "%s", why);
			/*
			 * A server that answers and refuses the export (its session
			 * cannot go on: a RAM write cache lost in a restart, the vDisk
			 * deleted) for a while means for good: disconnect, so that I/O
			 * fails instead of waiting for ever.
			 */
			refusing[s.current] = fd < 0 && permanent;
			unsigned all = 1;
			for (unsigned i = 0; i < s.nservers; i++)
				all &= refusing[i];
			if (fd < 0 && all) {
				if (!refused_since)
					refused_since = now_ms();
				else if (now_ms() - refused_since >= REFUSED_GIVE_UP_MS) {
					say(3, "%s: the server has refused export %s for %u s; disconnecting (I/O on %s fails from now)",
					    s.device, s.export, REFUSED_GIVE_UP_MS / 1000, s.device);
					nbd_disconnect_device(nl, family, &s);
					return 1;
				}
			} else {
				refused_since = 0;
			}
			if (fd >= 0 && again.size != info.size) {
				say(3, "%s: export %s is %llu bytes now, was %llu; not reconnecting to a different disk",
				    s.device, s.export, (unsigned long long)again.size, (unsigned long long)info.size);
				close(fd);
				fd = -1;
			}
			if (fd >= 0) {
				/* The kernel may not have marked the old socket dead yet. */
				for (int i = 0; i < 50; i++) {
					rc = nbd_reconnect_device(nl, family, &s, fd);
					if (rc != -ENOSPC)
						break;
					sleep_ms(200);
				}
				if (rc == 0) {
					sock = fd;
					say(4, "%s: reconnected to %s port %s export %s after %.1f s", s.device, s.host, s.port,
					    s.export, (double)(now_ms() - lost) / 1000.0);
					break;
				}
				say(3, "%s: the kernel refused the new connection: %s", s.device, strerror(-rc));
				close(fd);
				if (rc == -EINVAL || rc == -ENODEV || rc == -ENOENT) {
					/* The device was disconnected for good (nbd-client -d, or the dead timeout). */
					say(3, "%s: the device is no longer configured; giving up", s.device);
					return 1;
				}
			}
			if (s.nservers > 1) {
				use_server(&s, (s.current + 1) % s.nservers);
				/* The next server at once; a pause only after a round of all of them. */
				if (s.current != 0)
					continue;
			}
			sleep_ms(delay);
			if (delay < 2000)
				delay *= 2;
		}
	}
}
