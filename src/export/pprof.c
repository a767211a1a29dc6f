/*
 * pprof: a snapshot as pprof's profile.proto, gzipped, as `go tool pprof`
 * reads it (DESIGN.md section 5).
 *
 * One sample per group (group.h), its stack the group's: one Location per
 * pc, whose Lines are the pc's inline chain, innermost first (a frame
 * flagged `inlined` and the frames after it up to the real function's).
 * Functions, locations and mappings are numbered once per distinct
 * (name, file), (module, pc) and module (keytab.h); a mapping carries the
 * module's addresses and build id from the snapshot's module list.
 *
 * Values: threads; for a Go program, goroutines first (the default, as in
 * the program's own goroutine profile) and threads second, and the
 * runtime's own entries left out (group.h thread_go_runtime), as its
 * profile leaves them out.  Labels: a goroutine group's pprof labels,
 * key for key, as the program's own goroutine profile carries them
 * (groups are split by label set, so a sample has its members'; a key
 * that is also one of the following adds a second value to it); the
 * wait kind, the runtime's wait reason, and up to LABEL_VALUES distinct
 * objects waited on and thread names; the longest wait as a number of
 * seconds.
 *
 * The message is built with protobuf-c (its generated code from
 * proto/profile.proto) and deflated with zlib into a gzip stream.
 */
#include "export/pprof.h"
#include "export/keytab.h"
#include "model/group.h"
#include "profile.pb-c.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define LABEL_VALUES 8

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__ValueType ValueType;

struct builder {
	const struct snapshot *snap;
	struct keytab strings, functions, locations, mappings;
	Function *fns;		/* fns[id - 1] */
	Location *locs;
	Mapping *maps;
	size_t fncap, loccap, mapcap;
	Sample *samples;
	size_t nsamples;
	int rc;
};

/* Room for element id (1-based) in an array that grows with its keytab. */
static void *room(void *array, size_t *cap, int64_t id, size_t elem)
{
	if ((size_t)id <= *cap)
		return array;
	size_t cap2 = *cap ? 2 * *cap : 256;
	while (cap2 < (size_t)id)
		cap2 *= 2;
	char *a = realloc(array, cap2 * elem);
	if (!a)
		return NULL;
	memset(a + *cap * elem, 0, (cap2 - *cap) * elem);
	*cap = cap2;
	return a;
}

/* A string's index in string_table: 0 for "" (and NULL). */
static int64_t str(struct builder *b, const char *s)
{
	if (!s || !*s)
		return 0;
	int64_t id = keytab_id(&b->strings, s, strlen(s), NULL);
	if (id < 0)
		b->rc = -ENOMEM;
	return id < 0 ? 0 : id;
}

static uint64_t function_id(struct builder *b, const struct frame *f)
{
	char label[512], key[1024];
	const char *name = f->function;
	int added;

	if (!name) {
		frame_label(f, label, sizeof(label));
		name = label;
	}
	int n = snprintf(key, sizeof(key), "%s%c%s", name, 0, f->file ? f->file : "");
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(key) ? sizeof(key) - 1 : (size_t)n;
	int64_t id = keytab_id(&b->functions, key, len, &added);
	if (id < 0 || !(b->fns = room(b->fns, &b->fncap, id, sizeof(*b->fns)))) {
		b->rc = -ENOMEM;
		return 0;
	}
	if (added) {
		Function *fn = &b->fns[id - 1];
		perftools__profiles__function__init(fn);
		fn->id = (uint64_t)id;
		fn->name = fn->system_name = str(b, name);
		fn->filename = str(b, f->file);
	}
	return (uint64_t)id;
}

static const struct module_info *find_module(const struct snapshot *s, const char *path)
{
	for (size_t i = 0; i < s->nmodules; i++)
		if (strcmp(s->modules[i].path, path) == 0)
			return &s->modules[i];
	return NULL;
}

static uint64_t mapping_id(struct builder *b, const struct frame *f)
{
	int added;

	if (!f->module)
		return 0;
	int64_t id = keytab_id(&b->mappings, f->module, strlen(f->module), &added);
	if (id < 0 || !(b->maps = room(b->maps, &b->mapcap, id, sizeof(*b->maps)))) {
		b->rc = -ENOMEM;
		return 0;
	}
	Mapping *m = &b->maps[id - 1];
	uint64_t start = f->pc - f->offset;
	if (added) {
		const struct module_info *mi = find_module(b->snap, f->module);
		perftools__profiles__mapping__init(m);
		m->id = (uint64_t)id;
		m->filename = str(b, f->module);
		m->has_functions = m->has_filenames = m->has_line_numbers =
			m->has_inline_frames = true;
		if (mi) {
			m->memory_start = mi->start;
			m->memory_limit = mi->end;
			m->build_id = str(b, mi->build_id);
		} else {
			m->memory_start = start;
			m->memory_limit = f->pc + 1;
		}
	}
	/* Without the module list (an older snapshot), the pcs seen. */
	if (f->pc >= m->memory_limit)
		m->memory_limit = f->pc + 1;
	if (start < m->memory_start)
		m->memory_start = start;
	return (uint64_t)id;
}

/* The location of the pc of frames[0..n): inline frames, then theirs. */
static uint64_t location_id(struct builder *b, const struct frame *frames, size_t n)
{
	const struct frame *real = &frames[n - 1];
	char key[1024];
	int added;

	/* a Python frame has no pc: its function, file and line are its place */
	int len = real->python ?
		  snprintf(key, sizeof(key), "%c%s%c%s%c%d", 1, real->function ? real->function : "",
			   0, real->file ? real->file : "", 0, real->line) :
		  snprintf(key, sizeof(key), "%s%c%016llx", real->module ? real->module : "", 0,
			   (unsigned long long)real->pc);
	if (len < 0 || (size_t)len >= sizeof(key))
		len = sizeof(key) - 1;
	int64_t id = keytab_id(&b->locations, key, (size_t)len, &added);
	if (id < 0 || !(b->locs = room(b->locs, &b->loccap, id, sizeof(*b->locs)))) {
		b->rc = -ENOMEM;
		return 0;
	}
	if (!added)
		return (uint64_t)id;
	Location *loc = &b->locs[id - 1];
	perftools__profiles__location__init(loc);
	loc->id = (uint64_t)id;
	loc->address = real->pc;
	loc->mapping_id = mapping_id(b, real);
	loc->line = calloc(n, sizeof(*loc->line));
	Line *lines = calloc(n, sizeof(*lines));
	if (!loc->line || !lines) {
		free(lines);
		b->rc = -ENOMEM;
		return (uint64_t)id;
	}
	for (size_t i = 0; i < n; i++) {
		perftools__profiles__line__init(&lines[i]);
		lines[i].function_id = function_id(b, &frames[i]);
		lines[i].line = frames[i].line;
		loc->line[i] = &lines[i];
	}
	loc->n_line = n;
	return (uint64_t)id;
}

static int add_label(struct builder *b, Sample *s, const char *key, const char *value,
		     int64_t num, const char *unit)
{
	Label *l = calloc(1, sizeof(*l));
	Label **ls = realloc(s->label, (s->n_label + 1) * sizeof(*ls));

	if (!l || !ls) {
		free(l);
		if (ls)
			s->label = ls;
		return b->rc = -ENOMEM;
	}
	s->label = ls;
	perftools__profiles__label__init(l);
	l->key = str(b, key);
	if (value)
		l->str = str(b, value);
	else {
		l->num = num;
		l->num_unit = str(b, unit);
	}
	s->label[s->n_label++] = l;
	return 0;
}

/* Labels key=value for the distinct values of a field of g's members, up
 * to LABEL_VALUES of them. */
static void add_distinct(struct builder *b, Sample *s, const struct group *g, const char *key,
			 const char *(*field)(const struct thread *t))
{
	const char *seen[LABEL_VALUES];
	size_t n = 0;

	for (size_t i = 0; i < g->count && n < LABEL_VALUES; i++) {
		const char *v = field(g->threads[i]);
		size_t k = 0;
		if (!v || !*v)
			continue;
		while (k < n && strcmp(seen[k], v) != 0)
			k++;
		if (k < n)
			continue;
		seen[n++] = v;
		add_label(b, s, key, v, 0, NULL);
	}
}

static const char *object_of(const struct thread *t)
{
	return t->wait.object;
}

static const char *name_of(const struct thread *t)
{
	return t->goid ? NULL : thread_py_name(t) ? thread_py_name(t) : thread_name(t);
}

static const char *go_wait_of(const struct thread *t)
{
	return t->go_wait;
}

static const char *py_wait_of(const struct thread *t)
{
	return thread_py_wait(t);
}

static void add_sample(struct builder *b, const struct group *g, bool go)
{
	const struct thread *t = g->threads[0];
	Sample *s = &b->samples[b->nsamples++];

	perftools__profiles__sample__init(s);
	s->n_value = go ? 2 : 1;
	if (!(s->value = calloc(s->n_value, sizeof(*s->value))) ||
	    !(s->location_id = calloc(t->nframes ? t->nframes : 1, sizeof(*s->location_id)))) {
		b->rc = -ENOMEM;
		return;
	}
	s->value[go && !t->goid] = (int64_t)g->count;
	for (size_t i = 0; i < t->nframes;) {
		size_t j = i;
		while (j + 1 < t->nframes && t->frames[j].inlined)
			j++;
		/* The program's own profile stops above runtime.goexit. */
		const char *fn = t->frames[j].function;
		if (!(t->goid && i == j && fn && strcmp(fn, "runtime.goexit") == 0))
			s->location_id[s->n_location_id++] = location_id(b, &t->frames[i], j - i + 1);
		i = j + 1;
	}
	/* a goroutine's pprof labels, as the program's own goroutine
	 * profile carries them (a group's members share them) */
	for (size_t i = 0; i < t->nlabels; i++)
		add_label(b, s, t->labels[i].key, t->labels[i].value, 0, NULL);
	add_label(b, s, "wait", wait_kind_name(g->kind), 0, NULL);
	add_distinct(b, s, g, "go_wait", go_wait_of);
	add_distinct(b, s, g, "py_wait", py_wait_of);
	add_distinct(b, s, g, "object", object_of);
	add_distinct(b, s, g, "thread", name_of);
	if (g->max_blocked_sec >= 0 && g->max_blocked_sec < 1e15)
		add_label(b, s, "blocked", NULL, (int64_t)g->max_blocked_sec, "seconds");
}

/* Every pointer array the message needs, pointing into the builder. */
static void **pointers(void *array, size_t n, size_t elem)
{
	void **p = calloc(n ? n : 1, sizeof(*p));

	for (size_t i = 0; p && i < n; i++)
		p[i] = (char *)array + i * elem;
	return p;
}

static int gzip_write(const uint8_t *data, size_t len, FILE *fp)
{
	z_stream z = { 0 };
	unsigned char out[65536];
	int zrc;

	/* 15 + 16: a gzip header and trailer around the deflate stream */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)data;
	z.avail_in = 0;
	do {
		/* avail_in is 32 bits: feed a large message in pieces */
		if (z.avail_in == 0 && len) {
			z.avail_in = len > (1u << 30) ? 1u << 30 : (unsigned)len;
			len -= z.avail_in;
		}
		z.next_out = out;
		z.avail_out = sizeof(out);
		zrc = deflate(&z, len ? Z_NO_FLUSH : Z_FINISH);
		size_t have = sizeof(out) - z.avail_out;
		/* cppcheck-suppress uninitvar ; deflate() wrote out's first have bytes */
		if (have && fwrite(out, 1, have, fp) != have) {
			deflateEnd(&z);
			return -EIO;
		}
	} while (zrc == Z_OK || zrc == Z_BUF_ERROR);
	deflateEnd(&z);
	return zrc == Z_STREAM_END ? 0 : -EIO;
}

static void free_builder(struct builder *b)
{
	for (size_t i = 0; i < b->nsamples; i++) {
		for (size_t k = 0; k < b->samples[i].n_label; k++)
			free(b->samples[i].label[k]);
		free(b->samples[i].label);
		free(b->samples[i].value);
		free(b->samples[i].location_id);
	}
	free(b->samples);
	for (size_t i = 0; i < b->locations.n; i++) {
		if (b->locs[i].line)
			free(b->locs[i].line[0]);
		free(b->locs[i].line);
	}
	free(b->locs);
	free(b->fns);
	free(b->maps);
	keytab_free(&b->strings);
	keytab_free(&b->functions);
	keytab_free(&b->locations);
	keytab_free(&b->mappings);
}

/* pprof takes the first mapping for the program's: make it the
 * executable's when a frame is in it. */
static void exe_first(struct builder *b, const struct grouping *g)
{
	for (size_t i = 0; b->snap->exe && i < g->ngroups; i++) {
		const struct thread *t = g->groups[i].threads[0];
		for (size_t k = 0; k < t->nframes; k++)
			if (t->frames[k].module && strcmp(t->frames[k].module, b->snap->exe) == 0) {
				mapping_id(b, &t->frames[k]);
				return;
			}
	}
}

int export_pprof(const struct snapshot *snap, FILE *fp)
{
	struct builder b = { .snap = snap };
	struct grouping g = { 0 };
	bool go = snap->ngoroutines > 0;
	Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType types[2] = { PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
			       PERFTOOLS__PROFILES__VALUE_TYPE__INIT };
	ValueType period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	ValueType *typep[2] = { &types[0], &types[1] };
	char comment[256];
	int64_t commentid;
	uint8_t *buf = NULL;
	int rc;

	if ((rc = group_snapshot(snap, &g)) < 0)
		return rc;
	if (!(b.samples = calloc(g.ngroups ? g.ngroups : 1, sizeof(*b.samples)))) {
		rc = -ENOMEM;
		goto out;
	}
	exe_first(&b, &g);
	for (size_t i = 0; i < g.ngroups && !b.rc; i++)
		if (!thread_go_runtime(snap, g.groups[i].threads[0]))
			add_sample(&b, &g.groups[i], go);

	types[0].type = str(&b, go ? "goroutine" : "thread");
	types[0].unit = str(&b, "count");
	types[1].type = str(&b, "thread");
	types[1].unit = str(&b, "count");
	period = types[0];
	snprintf(comment, sizeof(comment), "threadleak snapshot of process %d (%s)%s%s", snap->pid,
		 snap->comm ? snap->comm : "?", snap->runtime ? ", " : "",
		 snap->runtime ? snap->runtime : "");
	commentid = str(&b, comment);
	if (b.rc) {
		rc = b.rc;
		goto out;
	}
	p.n_sample_type = go ? 2 : 1;
	p.sample_type = typep;
	p.default_sample_type = types[0].type;
	p.period_type = &period;
	p.period = 1;
	/* a file's taken_at may be anything */
	if (snap->taken_at > 0 && snap->taken_at < INT64_MAX / 1000000000LL)
		p.time_nanos = snap->taken_at * 1000000000LL;
	p.n_comment = 1;
	p.comment = &commentid;
	p.n_sample = b.nsamples;
	p.sample = (Sample **)pointers(b.samples, b.nsamples, sizeof(Sample));
	p.n_location = b.locations.n;
	p.location = (Location **)pointers(b.locs, b.locations.n, sizeof(Location));
	p.n_function = b.functions.n;
	p.function = (Function **)pointers(b.fns, b.functions.n, sizeof(Function));
	p.n_mapping = b.mappings.n;
	p.mapping = (Mapping **)pointers(b.maps, b.mappings.n, sizeof(Mapping));
	p.n_string_table = b.strings.n + 1;
	p.string_table = calloc(p.n_string_table, sizeof(char *));
	if (!p.sample || !p.location || !p.function || !p.mapping || !p.string_table) {
		rc = -ENOMEM;
		goto out;
	}
	p.string_table[0] = "";
	for (size_t i = 1; i < p.n_string_table; i++)
		p.string_table[i] = (char *)keytab_key(&b.strings, (int64_t)i);

	size_t len = protobuf_c_message_get_packed_size(&p.base);
	if (!(buf = malloc(len ? len : 1))) {
		rc = -ENOMEM;
		goto out;
	}
	protobuf_c_message_pack(&p.base, buf);
	rc = gzip_write(buf, len, fp);
out:
	free(buf);
	free(p.sample);
	free(p.location);
	free(p.function);
	free(p.mapping);
	free(p.string_table);
	free_builder(&b);
	grouping_free(&g);
	return rc;
}
