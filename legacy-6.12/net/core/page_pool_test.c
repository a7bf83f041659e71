// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the page_pool DMA mapping life cycle.
 *
 * Every case of the page_pool suite runs a pool that DMA-maps its pages for
 * a KUnit device and counts, through the dma_map_page and dma_unmap_page
 * tracepoints, each map and unmap made for that device. A case first
 * asserts that the maps it caused were seen, so a tracepoint that does not
 * fire cannot make it pass.
 *
 * The page_pool_tracking suite times the item tracking against the xarray
 * the base tree tracked DMA mappings with, on a KUnit device of its own.
 *
 * The page_pool_mp suite runs pools fed by a memory provider of its own,
 * bound to an rx queue of a dummy net_device, with the same DMA counting.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/helpers.h>
#include <net/page_pool/memory_provider.h>
#include <kunit/static_stub.h>
#include <trace/events/dma.h>

#include "page_pool_priv.h"

#define PP_TEST_POOL_SIZE	256

struct pp_test_mp;

/* An unmap for the test device held while the pool is destroyed. */
struct pp_test_stall {
	atomic_t armed;			/* the next unmap is held */
	struct completion held;
	bool destroy_started;
	bool destroy_returned;
	bool saw_start;			/* the held unmap saw destroy start */
	bool saw_return;		/* and saw it return */
};

struct pp_test {
	struct device *dev;
	struct page_pool *pool;
	atomic_t maps;
	atomic_t unmaps;
	struct pp_test_stall stall;
	struct pp_test_mp *mp;	/* page_pool_mp suite only */
};

static void pp_test_map_probe(void *data, struct device *dev,
			      phys_addr_t phys_addr, dma_addr_t dma_addr,
			      size_t size, enum dma_data_direction dir,
			      unsigned long attrs)
{
	struct pp_test *t = data;

	if (dev == t->dev)
		atomic_inc(&t->maps);
}

#define PP_TEST_HOLD_MS	500

/*
 * Called inside dma_unmap_page_attrs(): hold the unmap until destroy has
 * started and then had PP_TEST_HOLD_MS to return, or has returned.
 */
static void pp_test_hold_unmap(struct pp_test_stall *s)
{
	u64 until = ktime_get_ns() + 10 * PP_TEST_HOLD_MS * NSEC_PER_MSEC;

	complete(&s->held);
	while (!READ_ONCE(s->destroy_started) && ktime_get_ns() < until)
		cpu_relax();
	WRITE_ONCE(s->saw_start, READ_ONCE(s->destroy_started));

	until = ktime_get_ns() + PP_TEST_HOLD_MS * NSEC_PER_MSEC;
	while (!READ_ONCE(s->destroy_returned) && ktime_get_ns() < until)
		cpu_relax();
	WRITE_ONCE(s->saw_return, READ_ONCE(s->destroy_returned));
}

static void pp_test_unmap_probe(void *data, struct device *dev,
				dma_addr_t addr, size_t size,
				enum dma_data_direction dir,
				unsigned long attrs)
{
	struct pp_test *t = data;

	if (dev != t->dev)
		return;
	if (atomic_cmpxchg(&t->stall.armed, 1, 0) == 1)
		pp_test_hold_unmap(&t->stall);
	atomic_inc(&t->unmaps);
}

static struct page_pool *pp_test_create_pool(struct kunit *test)
{
	struct page_pool_params pp = {
		.order		= 0,
		.pool_size	= PP_TEST_POOL_SIZE,
		.nid		= NUMA_NO_NODE,
		.dma_dir	= DMA_FROM_DEVICE,
		.flags		= PP_FLAG_DMA_MAP,
	};
	struct pp_test *t = test->priv;
	struct page_pool *pool;

	pp.dev = t->dev;
	pool = page_pool_create(&pp);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, pool);
	return IS_ERR(pool) ? NULL : pool;
}

/* The KUnit device and the DMA counting every case of both suites uses. */
static struct pp_test *pp_test_setup(struct kunit *test)
{
	struct pp_test *t;
	int err;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	test->priv = t;

	t->dev = kunit_device_register(test, "page_pool_test");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->dev);
	err = dma_set_mask_and_coherent(t->dev, DMA_BIT_MASK(64));
	KUNIT_ASSERT_EQ(test, err, 0);

	err = register_trace_dma_map_page(pp_test_map_probe, t);
	KUNIT_ASSERT_EQ(test, err, 0);
	err = register_trace_dma_unmap_page(pp_test_unmap_probe, t);
	if (err) {
		unregister_trace_dma_map_page(pp_test_map_probe, t);
		tracepoint_synchronize_unregister();
		KUNIT_ASSERT_EQ(test, err, 0);
	}
	return t;
}

static int pp_test_init(struct kunit *test)
{
	struct pp_test *t = pp_test_setup(test);

	t->pool = pp_test_create_pool(test);
	return 0;
}

static void pp_test_exit(struct kunit *test)
{
	struct pp_test *t = test->priv;

	/* A case that destroyed its pool cleared t->pool. */
	page_pool_destroy(t->pool);
	unregister_trace_dma_unmap_page(pp_test_unmap_probe, t);
	unregister_trace_dma_map_page(pp_test_map_probe, t);
	tracepoint_synchronize_unregister();
}

/* Pages the pool took from the page allocator, each mapped once. */
static u32 pp_test_pages_taken(const struct pp_test *t)
{
	return READ_ONCE(t->pool->pages_state_hold_cnt);
}

/* Destroy the pool; the case may not touch t->pool afterwards. */
static void pp_test_destroy(struct pp_test *t)
{
	page_pool_destroy(t->pool);
	t->pool = NULL;
}

static void pp_test_expect_maps_seen(struct kunit *test)
{
	struct pp_test *t = test->priv;

	KUNIT_EXPECT_GT(test, atomic_read(&t->maps), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->maps), pp_test_pages_taken(t));
}

/* Allocate @n pages from @pool into an array the test owns. */
static struct page **pp_test_alloc_pages(struct kunit *test,
					 struct page_pool *pool, unsigned int n)
{
	struct page **pages;
	unsigned int i;

	pages = kunit_kcalloc(test, n, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (i = 0; i < n; i++) {
		pages[i] = page_pool_dev_alloc_pages(pool);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
	return pages;
}

/* Recycled pages keep their mapping: no unmap, no new map. */
static void pp_test_recycle_keeps_mapping(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct page *page;
	int maps, i;

	KUNIT_ASSERT_NOT_NULL(test, t->pool);
	page = page_pool_dev_alloc_pages(t->pool);
	KUNIT_ASSERT_NOT_NULL(test, page);
	pp_test_expect_maps_seen(test);
	maps = atomic_read(&t->maps);

	for (i = 0; i < 1000; i++) {
		local_bh_disable();
		page_pool_recycle_direct(t->pool, page);
		page = page_pool_dev_alloc_pages(t->pool);
		local_bh_enable();
		KUNIT_ASSERT_NOT_NULL(test, page);
	}
	/* Through the ptr_ring too. */
	for (i = 0; i < 1000; i++) {
		page_pool_put_full_page(t->pool, page, false);
		page = page_pool_dev_alloc_pages(t->pool);
		KUNIT_ASSERT_NOT_NULL(test, page);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&t->maps), maps);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), 0);

	page_pool_put_full_page(t->pool, page, false);
	pp_test_destroy(t);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), maps);
}

/* A page that cannot be recycled leaves the pool unmapped, at once. */
static void pp_test_release_unmaps(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct page *page;

	KUNIT_ASSERT_NOT_NULL(test, t->pool);
	page = page_pool_dev_alloc_pages(t->pool);
	KUNIT_ASSERT_NOT_NULL(test, page);
	pp_test_expect_maps_seen(test);

	/* An extra reference keeps the page out of the pool's caches. */
	get_page(page);
	page_pool_put_full_page(t->pool, page, false);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), 1);
	KUNIT_EXPECT_EQ(test, page_pool_get_dma_addr(page), 0);
	put_page(page);

	pp_test_destroy(t);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), atomic_read(&t->maps));
}

static const unsigned int pp_test_inflight_counts[] = { 1, 64, 1000, 4096 };

static void pp_test_inflight_desc(const unsigned int *n, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u pages inflight", *n);
}

KUNIT_ARRAY_PARAM(pp_test_inflight, pp_test_inflight_counts,
		  pp_test_inflight_desc);

/*
 * Pages still held by the stack when the pool is destroyed are unmapped
 * before page_pool_destroy() returns, and nothing maps or unmaps for the
 * device after that, not even when the pages come back.
 */
static void pp_test_destroy_unmaps_inflight(struct kunit *test)
{
	const unsigned int n = *(const unsigned int *)test->param_value;
	struct pp_test *t = test->priv;
	struct page_pool *pool = t->pool;
	struct page **pages;
	int maps, unmaps;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	pages = pp_test_alloc_pages(test, pool, n);
	pp_test_expect_maps_seen(test);
	maps = atomic_read(&t->maps);
	KUNIT_EXPECT_GE(test, maps, n);

	pp_test_destroy(t);
	unmaps = atomic_read(&t->unmaps);
	KUNIT_EXPECT_EQ_MSG(test, unmaps, maps,
			    "destroy left %d pages mapped", maps - unmaps);

	/* The pool lives on until its last page is back, as drivers expect. */
	for (i = 0; i < n; i++)
		page_pool_put_full_page(pool, pages[i], false);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->maps), maps,
			    "DMA map after page_pool_destroy() returned");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), unmaps,
			    "DMA unmap after page_pool_destroy() returned");
}

/*
 * A page split into fragments is inflight until its last fragment is back:
 * destroy unmaps it while fragments are held, and their return makes no DMA
 * call.
 */
static void pp_test_destroy_frags_inflight(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct page_pool *pool = t->pool;
	struct page *frags[8];
	unsigned int offset, i;
	int maps, unmaps;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	/* Four fragments a page: frags[0..3] share one page, [4..7] another. */
	for (i = 0; i < ARRAY_SIZE(frags); i++) {
		frags[i] = page_pool_dev_alloc_frag(pool, &offset, PAGE_SIZE / 4);
		KUNIT_ASSERT_NOT_NULL(test, frags[i]);
	}
	KUNIT_ASSERT_PTR_EQ(test, frags[0], frags[3]);
	KUNIT_ASSERT_PTR_NE(test, frags[3], frags[4]);
	pp_test_expect_maps_seen(test);
	maps = atomic_read(&t->maps);

	for (i = 1; i < 4; i++) {
		page_pool_put_full_page(pool, frags[i], false);
		page_pool_put_full_page(pool, frags[4 + i], false);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), 0);

	pp_test_destroy(t);
	unmaps = atomic_read(&t->unmaps);
	KUNIT_EXPECT_EQ_MSG(test, unmaps, maps,
			    "destroy left %d pages mapped", maps - unmaps);

	page_pool_put_full_page(pool, frags[0], false);
	page_pool_put_full_page(pool, frags[4], false);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), unmaps,
			    "DMA unmap after page_pool_destroy() returned");
}

#define PP_TEST_RACE_THREADS	4
#define PP_TEST_RACE_PAGES	128	/* per thread */
#define PP_TEST_RACE_ROUNDS	20

struct pp_test_returner {
	struct page_pool *pool;
	struct page *pages[PP_TEST_RACE_PAGES];
	struct completion *start;
	struct completion done;
};

/* Return pages that hold an extra reference: each leaves the pool. */
static int pp_test_returner(void *data)
{
	struct pp_test_returner *r = data;
	unsigned int i;

	wait_for_completion(r->start);
	for (i = 0; i < PP_TEST_RACE_PAGES; i++) {
		page_pool_put_full_page(r->pool, r->pages[i], false);
		put_page(r->pages[i]);
	}
	complete(&r->done);
	return 0;
}

/*
 * Threads return pages while the pool is destroyed: every page is unmapped
 * exactly once, all of them before page_pool_destroy() returns.
 */
static void pp_test_destroy_races_returns(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct pp_test_returner *r;
	struct completion start;
	struct task_struct *task;
	int round, i, j, maps, unmaps;

	r = kunit_kcalloc(test, PP_TEST_RACE_THREADS, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	page_pool_destroy(t->pool);
	t->pool = NULL;

	for (round = 0; round < PP_TEST_RACE_ROUNDS; round++) {
		struct page_pool *pool = pp_test_create_pool(test);

		KUNIT_ASSERT_NOT_NULL(test, pool);
		atomic_set(&t->maps, 0);
		atomic_set(&t->unmaps, 0);
		init_completion(&start);
		for (i = 0; i < PP_TEST_RACE_THREADS; i++) {
			r[i].pool = pool;
			r[i].start = &start;
			init_completion(&r[i].done);
			for (j = 0; j < PP_TEST_RACE_PAGES; j++) {
				r[i].pages[j] = page_pool_dev_alloc_pages(pool);
				KUNIT_ASSERT_NOT_NULL(test, r[i].pages[j]);
				get_page(r[i].pages[j]);
			}
		}
		maps = atomic_read(&t->maps);
		KUNIT_ASSERT_GE(test, maps, PP_TEST_RACE_THREADS * PP_TEST_RACE_PAGES);

		for (i = 0; i < PP_TEST_RACE_THREADS; i++) {
			task = kthread_run(pp_test_returner, &r[i], "pp_test/%d", i);
			KUNIT_ASSERT_NOT_ERR_OR_NULL(test, task);
		}
		complete_all(&start);
		page_pool_destroy(pool);
		unmaps = atomic_read(&t->unmaps);
		for (i = 0; i < PP_TEST_RACE_THREADS; i++)
			wait_for_completion(&r[i].done);

		KUNIT_EXPECT_EQ_MSG(test, unmaps, maps,
				    "round %d: destroy returned with %d pages mapped",
				    round, maps - unmaps);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), maps,
				    "round %d: %d unmaps for %d maps", round,
				    atomic_read(&t->unmaps), maps);
	}
}

/*
 * A page leaving the pool on another CPU while the pool is destroyed may
 * have taken its mapping first and still be unmapping it. Destroy must wait
 * for that unmap: the driver may free the device as soon as destroy
 * returns. The returner's first unmap is held inside dma_unmap_page_attrs()
 * while destroy runs.
 */
static void pp_test_destroy_waits_for_unmap(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct pp_test_returner *r;
	struct completion start;
	struct task_struct *task;
	int maps, unmaps, i, cpu;

	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	if (cpu >= nr_cpu_ids)
		kunit_skip(test, "needs a second CPU to return pages on");
	KUNIT_ASSERT_NOT_NULL(test, t->pool);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r->pool = t->pool;
	r->start = &start;
	init_completion(&start);
	init_completion(&r->done);
	for (i = 0; i < PP_TEST_RACE_PAGES; i++) {
		r->pages[i] = page_pool_dev_alloc_pages(t->pool);
		KUNIT_ASSERT_NOT_NULL(test, r->pages[i]);
		get_page(r->pages[i]);
	}
	pp_test_expect_maps_seen(test);
	maps = atomic_read(&t->maps);

	/* The returner holds its CPU while the unmap is held: not ours. */
	task = kthread_create(pp_test_returner, r, "pp_test/held");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, task);
	kthread_bind(task, cpu);
	init_completion(&t->stall.held);
	atomic_set(&t->stall.armed, 1);
	wake_up_process(task);
	complete_all(&start);
	if (!wait_for_completion_timeout(&t->stall.held, 10 * HZ)) {
		atomic_set(&t->stall.armed, 0);
		wait_for_completion(&r->done);
		KUNIT_FAIL(test, "no page was unmapped as it left the pool");
		return;
	}

	WRITE_ONCE(t->stall.destroy_started, true);
	pp_test_destroy(t);
	WRITE_ONCE(t->stall.destroy_returned, true);
	unmaps = atomic_read(&t->unmaps);
	wait_for_completion(&r->done);

	/* The returner wrote these before it completed r->done. */
	KUNIT_EXPECT_TRUE_MSG(test, t->stall.saw_start,
			      "destroy did not start while the unmap was held");
	KUNIT_EXPECT_FALSE_MSG(test, t->stall.saw_return,
			       "page_pool_destroy() returned during an unmap for its device");
	KUNIT_EXPECT_EQ_MSG(test, unmaps, maps,
			    "destroy returned with %d pages mapped", maps - unmaps);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), maps);
}

/* The item counters of @pool's stats; false when stats are compiled out. */
static bool pp_test_item_stats(struct page_pool *pool, u64 *fast_empty,
			       u64 *slow_failed)
{
#ifdef CONFIG_PAGE_POOL_STATS
	struct page_pool_stats stats = {};

	page_pool_get_stats(pool, &stats);
	*fast_empty = stats.alloc_stats.item_fast_empty;
	*slow_failed = stats.alloc_stats.item_slow_failed;
	return true;
#else
	return false;
#endif
}

/*
 * Far more pages inflight than the items allocated with the pool: blocks
 * are added on demand, counted in item_fast_empty, and destroy still finds
 * and unmaps every page.
 */
static void pp_test_items_grow(struct kunit *test)
{
	const unsigned int n = 8 * PAGE_POOL_BLOCK_ITEMS;
	struct pp_test *t = test->priv;
	struct page_pool *pool = t->pool;
	u64 fast_empty, slow_failed;
	struct page **pages;
	unsigned int i;
	int maps;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	pages = pp_test_alloc_pages(test, pool, n);
	pp_test_expect_maps_seen(test);
	if (pp_test_item_stats(pool, &fast_empty, &slow_failed)) {
		KUNIT_EXPECT_GT(test, fast_empty, 0);
		KUNIT_EXPECT_EQ(test, slow_failed, 0);
	}
	maps = atomic_read(&t->maps);

	pp_test_destroy(t);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), maps);
	for (i = 0; i < n; i++)
		page_pool_put_full_page(pool, pages[i], false);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), maps);
}

static struct page_pool_item_block *
pp_test_no_block(struct page_pool *pool, gfp_t gfp)
{
	return NULL;
}

/*
 * When no item can be had, allocation fails cleanly: no page is left
 * mapped or counted as inflight, and allocation works again once blocks
 * can be allocated.
 */
static void pp_test_items_alloc_fails(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct page_pool *pool = t->pool;
	struct page **pages;
	unsigned int n = 0, i, max = 64 * PAGE_POOL_BLOCK_ITEMS;
	u64 fast_empty, slow_failed;
	struct page *page;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	pages = kunit_kcalloc(test, max, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);

	kunit_activate_static_stub(test, page_pool_item_block_alloc,
				   pp_test_no_block);
	while (n < max && (page = page_pool_dev_alloc_pages(pool)))
		pages[n++] = page;
	KUNIT_ASSERT_LT_MSG(test, n, max, "allocation never ran out of items");
	KUNIT_EXPECT_GT(test, n, 0);
	/* Every page the pool took is mapped and handed out or cached. */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->maps), pp_test_pages_taken(t));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), 0);
	if (pp_test_item_stats(pool, &fast_empty, &slow_failed))
		KUNIT_EXPECT_GT(test, slow_failed, 0);

	kunit_deactivate_static_stub(test, page_pool_item_block_alloc);
	page = page_pool_dev_alloc_pages(pool);
	KUNIT_EXPECT_NOT_NULL(test, page);
	if (page)
		pages[n++] = page;

	for (i = 0; i < n; i++)
		page_pool_put_full_page(pool, pages[i], false);
	pp_test_destroy(t);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->unmaps), atomic_read(&t->maps));
}

static struct kunit_case pp_test_cases[] = {
	KUNIT_CASE(pp_test_recycle_keeps_mapping),
	KUNIT_CASE(pp_test_release_unmaps),
	KUNIT_CASE_PARAM(pp_test_destroy_unmaps_inflight,
			 pp_test_inflight_gen_params),
	KUNIT_CASE(pp_test_destroy_frags_inflight),
	KUNIT_CASE_SLOW(pp_test_destroy_races_returns),
	KUNIT_CASE(pp_test_destroy_waits_for_unmap),
	KUNIT_CASE(pp_test_items_grow),
	KUNIT_CASE(pp_test_items_alloc_fails),
	{}
};

static struct kunit_suite pp_test_suite = {
	.name		= "page_pool",
	.init		= pp_test_init,
	.exit		= pp_test_exit,
	.test_cases	= pp_test_cases,
};

/*
 * The cost of tracking, timed: the item a netmem takes when it enters a pool
 * and gives back when it leaves, against the xarray the base tree tracked
 * DMA-mapped pages with (xa_alloc() on map, xa_cmpxchg() on unmap). Both
 * track pages that are DMA-mapped for a KUnit device, and both releases
 * unmap, as a page leaving the pool is unmapped in either tree; the mapping
 * itself is made before each batch and not timed. A third run times the
 * items of a pool that maps nothing. All run with bottom halves disabled,
 * as under NAPI, where the base took the xarray's lock without disabling
 * them again. A batch of pages is tracked, then released in the order it
 * was taken, over and over, after one untimed batch that lets the items or
 * the xarray grow to size. The case prints the time per page of each step
 * and judges none: it fails only if a page went untracked, a release missed
 * its entry, or items were not reused.
 */
#define PP_TRACK_PAGES	(128 * 1024)	/* tracked and released per run */

struct pp_track {
	struct kunit *test;
	struct device *dev;		/* the pages are mapped for it */
	struct page_pool *pool;		/* the items' pool of an item run */
	struct xarray xa;
	struct page **pages;
	u32 *ids;			/* the xarray's index of each page */
	unsigned int batch;
	u64 take_ns;
	u64 release_ns;
};

struct pp_track_mechanism {
	const char *name;
	bool map;			/* the pages are DMA-mapped */
	void (*run)(struct pp_track *tr,
		    const struct pp_track_mechanism *m);
	unsigned int (*track)(struct pp_track *tr);
	unsigned int (*release)(struct pp_track *tr, unsigned int n);
};

static unsigned int pp_track_items(struct pp_track *tr)
{
	struct page_pool_item *item;
	unsigned int i, n = 0;

	for (i = 0; i < tr->batch; i++) {
		item = page_pool_item_get(tr->pool, GFP_ATOMIC);
		if (!item)
			break;
		page_pool_item_set(tr->pool, item, page_to_netmem(tr->pages[i]));
		n++;
	}
	return n;
}

/* Unmaps the pages of a mapping pool. */
static unsigned int pp_release_items(struct pp_track *tr, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		page_pool_release_item(tr->pool, page_to_netmem(tr->pages[i]));
	return n;
}

static unsigned int pp_track_xa(struct pp_track *tr)
{
	unsigned int i, n = 0;

	for (i = 0; i < tr->batch; i++) {
		if (xa_alloc(&tr->xa, &tr->ids[i], tr->pages[i],
			     XA_LIMIT(1, U32_MAX), GFP_ATOMIC))
			break;
		n++;
	}
	return n;
}

/* The entry's owner unmaps, as the base did. */
static unsigned int pp_release_xa(struct pp_track *tr, unsigned int n)
{
	unsigned int i, released = 0;

	for (i = 0; i < n; i++) {
		if (xa_cmpxchg(&tr->xa, tr->ids[i], tr->pages[i], NULL, 0) !=
		    tr->pages[i])
			continue;
		dma_unmap_page_attrs(tr->dev,
				     page_pool_get_dma_addr(tr->pages[i]),
				     PAGE_SIZE, DMA_FROM_DEVICE,
				     DMA_ATTR_SKIP_CPU_SYNC |
				     DMA_ATTR_WEAK_ORDERING);
		page_pool_set_dma_addr(tr->pages[i], 0);
		released++;
	}
	return released;
}

/* Map the batch's pages, untimed, as the pool would on allocation. */
static bool pp_track_map(struct pp_track *tr)
{
	dma_addr_t dma;
	unsigned int i;

	for (i = 0; i < tr->batch; i++) {
		dma = dma_map_page_attrs(tr->dev, tr->pages[i], 0, PAGE_SIZE,
					 DMA_FROM_DEVICE,
					 DMA_ATTR_SKIP_CPU_SYNC |
					 DMA_ATTR_WEAK_ORDERING);
		if (dma_mapping_error(tr->dev, dma))
			return false;
		page_pool_set_dma_addr(tr->pages[i], dma);
	}
	return true;
}

/* Run batches until PP_TRACK_PAGES pages were tracked and released. */
static void pp_track_run(struct pp_track *tr,
			 const struct pp_track_mechanism *m)
{
	struct kunit *test = tr->test;
	unsigned int done, n, released;
	u32 take_frac, release_frac;
	u64 t0, t1, t2, take_whole, release_whole;
	int round;

	tr->take_ns = 0;
	tr->release_ns = 0;
	for (round = -1, done = 0; done < PP_TRACK_PAGES; round++) {
		KUNIT_ASSERT_TRUE_MSG(test, !m->map || pp_track_map(tr),
				      "%s: a page could not be mapped", m->name);
		local_bh_disable();
		t0 = ktime_get_ns();
		n = m->track(tr);
		t1 = ktime_get_ns();
		released = m->release(tr, n);
		t2 = ktime_get_ns();
		local_bh_enable();

		KUNIT_ASSERT_EQ_MSG(test, n, tr->batch, "%s: a page untracked",
				    m->name);
		KUNIT_ASSERT_EQ_MSG(test, released, n,
				    "%s: a release missed its entry", m->name);
		if (round < 0)
			continue;	/* the untimed batch */
		tr->take_ns += t1 - t0;
		tr->release_ns += t2 - t1;
		done += n;
		cond_resched();
	}
	/* Thousandths of a ns per page; no 64-bit division on 32-bit. */
	take_whole = div_u64_rem(div_u64(tr->take_ns * 1000, done), 1000,
				 &take_frac);
	release_whole = div_u64_rem(div_u64(tr->release_ns * 1000, done),
				    1000, &release_frac);
	kunit_info(test,
		   "mechanism=%s batch=%u n=%u take_ns=%llu.%03u release_ns=%llu.%03u\n",
		   m->name, tr->batch, done, take_whole, take_frac,
		   release_whole, release_frac);
}

/* Time the items of a pool that maps its pages, or not. */
static void pp_track_run_items(struct pp_track *tr,
			       const struct pp_track_mechanism *m)
{
	struct page_pool_params pp = {
		.pool_size	= PP_TEST_POOL_SIZE,
		.nid		= NUMA_NO_NODE,
		.dev		= tr->dev,
		.dma_dir	= DMA_FROM_DEVICE,
		.flags		= m->map ? PP_FLAG_DMA_MAP : 0,
	};
	struct kunit *test = tr->test;
	unsigned int blocks, i;

	tr->pool = page_pool_create(&pp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tr->pool);

	/* Blocks are added only when every item is taken: a batch needs
	 * more than the pool started with only if it is bigger, and no
	 * batch needs more once released items come back for reuse.
	 */
	blocks = max_t(unsigned int,
		       list_count_nodes(&tr->pool->item_blocks),
		       DIV_ROUND_UP(tr->batch, PAGE_POOL_BLOCK_ITEMS));
	pp_track_run(tr, m);
	KUNIT_EXPECT_EQ_MSG(test, list_count_nodes(&tr->pool->item_blocks),
			    blocks, "%s: released items were not reused",
			    m->name);

	page_pool_destroy(tr->pool);
	tr->pool = NULL;
	for (i = 0; i < tr->batch; i++)
		page_pool_clear_pp_info(page_to_netmem(tr->pages[i]));
}

static void pp_track_run_xa(struct pp_track *tr,
			    const struct pp_track_mechanism *m)
{
	xa_init_flags(&tr->xa, XA_FLAGS_ALLOC1);
	pp_track_run(tr, m);
	KUNIT_EXPECT_TRUE(tr->test, xa_empty(&tr->xa));
	xa_destroy(&tr->xa);
}

static const struct pp_track_mechanism pp_track_mechanisms[] = {
	{ "item", true, pp_track_run_items, pp_track_items, pp_release_items },
	{ "xarray", true, pp_track_run_xa, pp_track_xa, pp_release_xa },
	{ "item_nodma", false, pp_track_run_items, pp_track_items,
	  pp_release_items },
};

static const unsigned int pp_track_batches[] = { 64, 1024 };

static void pp_track_desc(const unsigned int *batch, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "batch of %u pages", *batch);
}

KUNIT_ARRAY_PARAM(pp_track, pp_track_batches, pp_track_desc);

static void pp_track_free_pages(void *data)
{
	struct pp_track *tr = data;
	unsigned int i;

	for (i = 0; i < tr->batch && tr->pages[i]; i++)
		__free_page(tr->pages[i]);
}

static void pp_test_tracking_cost(struct kunit *test)
{
	const struct pp_track_mechanism *m;
	struct pp_track *tr;
	unsigned int i;
	int err;

	tr = kunit_kzalloc(test, sizeof(*tr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tr);
	tr->test = test;
	tr->batch = *(const unsigned int *)test->param_value;
	tr->pages = kunit_kcalloc(test, tr->batch, sizeof(*tr->pages),
				  GFP_KERNEL);
	tr->ids = kunit_kcalloc(test, tr->batch, sizeof(*tr->ids), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tr->pages);
	KUNIT_ASSERT_NOT_NULL(test, tr->ids);
	err = kunit_add_action_or_reset(test, pp_track_free_pages, tr);
	KUNIT_ASSERT_EQ(test, err, 0);
	for (i = 0; i < tr->batch; i++) {
		tr->pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL_MSG(test, tr->pages[i],
					  "could not allocate pages");
	}

	tr->dev = kunit_device_register(test, "page_pool_tracking");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tr->dev);
	err = dma_set_mask_and_coherent(tr->dev, DMA_BIT_MASK(64));
	KUNIT_ASSERT_EQ(test, err, 0);

	for (m = pp_track_mechanisms;
	     m < pp_track_mechanisms + ARRAY_SIZE(pp_track_mechanisms); m++)
		m->run(tr, m);
}

static struct kunit_case pp_track_cases[] = {
	KUNIT_CASE_PARAM(pp_test_tracking_cost, pp_track_gen_params),
	{}
};

static struct kunit_suite pp_track_suite = {
	.name		= "page_pool_tracking",
	.test_cases	= pp_track_cases,
};

/*
 * A memory provider for the page_pool_mp suite. It hands out net_iovs of its
 * own area, with made-up DMA addresses the pool must never unmap, and counts
 * per net_iov how often it handed it out and took it back. Like zero-copy
 * receive into user memory, it can lend net_iovs to "users", holding a pool
 * reference for each, and its scrub callback takes those references back.
 */
#define PP_MP_NIOVS	256
#define PP_MP_QUEUES	4
#define PP_MP_QUEUE	2	/* the rx queue the provider binds to */
#define PP_MP_DMA_BASE	0x40000000UL
#define PP_MP_LENT	8	/* net_iovs lent to users by the lent cases */

struct pp_test_mp {
	struct net_device *netdev;
	struct page_pool *pool;
	struct net_iov niovs[PP_MP_NIOVS];
	atomic_t taken[PP_MP_NIOVS];
	atomic_t released[PP_MP_NIOVS];
	spinlock_t lock;	/* protects free */
	DECLARE_BITMAP(free, PP_MP_NIOVS);
	DECLARE_BITMAP(lent, PP_MP_NIOVS);
	atomic_t scrubs;
	bool destroy_called;
	struct completion destroyed;
};

static struct pp_test_mp *pp_mp(struct kunit *test)
{
	return ((struct pp_test *)test->priv)->mp;
}

static unsigned int pp_mp_idx(struct pp_test_mp *mp, netmem_ref netmem)
{
	return netmem_to_net_iov(netmem) - mp->niovs;
}

static int pp_mp_init(struct page_pool *pool)
{
	/* As with devmem, the addresses are not for dma_sync. */
	pool->dma_sync = false;
	pool->dma_sync_for_cpu = false;
	return 0;
}

static netmem_ref pp_mp_alloc_netmems(struct page_pool *pool, gfp_t gfp)
{
	struct pp_test_mp *mp = pool->mp_priv;
	netmem_ref netmem;
	unsigned int i;

	spin_lock_bh(&mp->lock);
	i = find_first_bit(mp->free, PP_MP_NIOVS);
	if (i < PP_MP_NIOVS)
		__clear_bit(i, mp->free);
	spin_unlock_bh(&mp->lock);
	if (i >= PP_MP_NIOVS)
		return 0;

	netmem = net_iov_to_netmem(&mp->niovs[i]);
	if (!page_pool_set_pp_info(pool, netmem, gfp)) {
		spin_lock_bh(&mp->lock);
		__set_bit(i, mp->free);
		spin_unlock_bh(&mp->lock);
		return 0;
	}
	atomic_inc(&mp->taken[i]);
	pool->pages_state_hold_cnt++;
	return netmem;
}

static bool pp_mp_release_netmem(struct page_pool *pool, netmem_ref netmem)
{
	struct pp_test_mp *mp = pool->mp_priv;
	unsigned int i = pp_mp_idx(mp, netmem);

	atomic_inc(&mp->released[i]);
	page_pool_clear_pp_info(netmem);
	spin_lock_bh(&mp->lock);
	__set_bit(i, mp->free);
	spin_unlock_bh(&mp->lock);
	return false;
}

static void pp_mp_destroy(struct page_pool *pool)
{
	struct pp_test_mp *mp = pool->mp_priv;

	complete_all(&mp->destroyed);
}

/* Users hand back what was lent to them; also what scrub does for them. */
static void pp_mp_return_lent(struct pp_test_mp *mp, struct page_pool *pool)
{
	unsigned int i;

	for (i = 0; i < PP_MP_NIOVS; i++)
		if (test_and_clear_bit(i, mp->lent))
			page_pool_put_full_netmem(pool,
						  net_iov_to_netmem(&mp->niovs[i]),
						  false);
}

static void pp_mp_scrub(struct page_pool *pool)
{
	struct pp_test_mp *mp = pool->mp_priv;

	atomic_inc(&mp->scrubs);
	pp_mp_return_lent(mp, pool);
}

static const struct memory_provider_ops pp_mp_ops = {
	.init		= pp_mp_init,
	.destroy	= pp_mp_destroy,
	.alloc_netmems	= pp_mp_alloc_netmems,
	.release_netmem	= pp_mp_release_netmem,
	.scrub		= pp_mp_scrub,
};

static const struct memory_provider_ops pp_mp_ops_no_scrub = {
	.init		= pp_mp_init,
	.destroy	= pp_mp_destroy,
	.alloc_netmems	= pp_mp_alloc_netmems,
	.release_netmem	= pp_mp_release_netmem,
};

static int pp_mp_test_init(struct kunit *test)
{
	struct pp_test *t = pp_test_setup(test);
	struct pp_test_mp *mp;
	unsigned int i;

	mp = kunit_kzalloc(test, sizeof(*mp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mp);
	t->mp = mp;
	spin_lock_init(&mp->lock);
	init_completion(&mp->destroyed);
	bitmap_fill(mp->free, PP_MP_NIOVS);
	for (i = 0; i < PP_MP_NIOVS; i++) {
		netmem_ref netmem = net_iov_to_netmem(&mp->niovs[i]);
		dma_addr_t dma = PP_MP_DMA_BASE + i * PAGE_SIZE;

		KUNIT_ASSERT_FALSE(test, page_pool_set_dma_addr_netmem(netmem, dma));
	}

	/* Never registered: the pools only need its rx queues. */
	mp->netdev = alloc_netdev_mqs(0, "pptest%d", NET_NAME_ENUM,
				      ether_setup, 1, PP_MP_QUEUES);
	KUNIT_ASSERT_NOT_NULL(test, mp->netdev);
	return 0;
}

static void pp_mp_test_exit(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct pp_test_mp *mp = t->mp;
	struct netdev_rx_queue *rxq;

	/* A case that stopped early: what it lent keeps its pool alive. */
	if (mp->pool) {
		pp_mp_return_lent(mp, mp->pool);
		if (!mp->destroy_called)
			page_pool_destroy(mp->pool);
	}
	rtnl_lock();
	rxq = __netif_get_rx_queue(mp->netdev, PP_MP_QUEUE);
	rxq->mp_params.mp_ops = NULL;
	rxq->mp_params.mp_priv = NULL;
	rtnl_unlock();
	/* A pool still alive is on the net_device's list of pools. */
	if (!mp->pool || wait_for_completion_timeout(&mp->destroyed, 10 * HZ))
		free_netdev(mp->netdev);
	else
		KUNIT_FAIL(test, "pool never freed; its net_device is leaked");
	pp_test_exit(test);
}

/* Bind the provider to an rx queue and create that queue's pool. */
static struct page_pool *pp_mp_create_pool(struct kunit *test,
					   const struct memory_provider_ops *ops)
{
	struct pp_test *t = test->priv;
	struct pp_test_mp *mp = t->mp;
	struct page_pool_params pp = {
		.order		= 0,
		.pool_size	= PP_TEST_POOL_SIZE,
		.nid		= NUMA_NO_NODE,
		.dev		= t->dev,
		.dma_dir	= DMA_FROM_DEVICE,
		.max_len	= PAGE_SIZE,
		.flags		= PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV |
				  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
		.netdev		= mp->netdev,
		.queue_idx	= PP_MP_QUEUE,
	};
	struct netdev_rx_queue *rxq;
	struct page_pool *pool;

	rtnl_lock();
	rxq = __netif_get_rx_queue(mp->netdev, PP_MP_QUEUE);
	rxq->mp_params.mp_ops = ops;
	rxq->mp_params.mp_priv = mp;
	pool = page_pool_create(&pp);
	rtnl_unlock();
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);
	KUNIT_ASSERT_PTR_EQ(test, pool->mp_ops, ops);
	mp->pool = pool;
	return pool;
}

/* Destroy the provider's pool; it may be used only while inflight. */
static void pp_mp_destroy_pool(struct pp_test_mp *mp)
{
	mp->destroy_called = true;
	page_pool_destroy(mp->pool);
}

/* Allocate @n net_iovs from @pool and check what the netmem helpers say. */
static netmem_ref *pp_mp_alloc(struct kunit *test, struct page_pool *pool,
			       unsigned int n)
{
	struct pp_test_mp *mp = pp_mp(test);
	netmem_ref *netmems;
	unsigned int i;

	netmems = kunit_kcalloc(test, n, sizeof(*netmems), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, netmems);
	for (i = 0; i < n; i++) {
		netmem_ref netmem = page_pool_alloc_netmems(pool, GFP_KERNEL);
		struct page_pool_item *item;
		unsigned long state;

		KUNIT_ASSERT_TRUE(test, netmem);
		KUNIT_ASSERT_TRUE(test, netmem_is_net_iov(netmem));
		KUNIT_EXPECT_PTR_EQ(test, netmem_get_pp(netmem), pool);
		item = netmem_get_pp_item(netmem);
		KUNIT_ASSERT_NOT_NULL(test, item);
		/* Tracked, and never as a mapping of the pool's. */
		state = READ_ONCE(item->pp_netmem);
		KUNIT_EXPECT_EQ_MSG(test, state, (__force unsigned long)netmem,
				    "item of net_iov %u", pp_mp_idx(mp, netmem));
		KUNIT_EXPECT_EQ(test, page_pool_get_dma_addr_netmem(netmem),
				PP_MP_DMA_BASE + pp_mp_idx(mp, netmem) * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, netmem_ref_count(netmem), 1);
		KUNIT_EXPECT_EQ(test,
				atomic_long_read(netmem_get_pp_ref_count_ref(netmem)),
				1);
		netmems[i] = netmem;
	}
	return netmems;
}

/*
 * Lend @netmem to a user the way zero-copy receive does: an skb carries it
 * up, the provider takes a reference for the user, and the skb is freed.
 */
static void pp_mp_lend(struct kunit *test, netmem_ref netmem)
{
	struct pp_test_mp *mp = pp_mp(test);
	struct sk_buff *skb = alloc_skb(64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_add_rx_frag_netmem(skb, 0, netmem, 0, PAGE_SIZE / 2, PAGE_SIZE);
	skb_mark_for_recycle(skb);
	page_pool_ref_netmem(netmem);
	set_bit(pp_mp_idx(mp, netmem), mp->lent);
	consume_skb(skb);
}

/* Wait for the worker that frees a destroyed pool once all is back. */
static bool pp_mp_wait_destroyed(struct pp_test_mp *mp)
{
	return wait_for_completion_timeout(&mp->destroyed, 10 * HZ);
}

/* Every net_iov came back to the provider once for each time it was taken. */
static void pp_mp_expect_all_back(struct kunit *test)
{
	struct pp_test_mp *mp = pp_mp(test);
	unsigned int i, taken = 0;

	for (i = 0; i < PP_MP_NIOVS; i++) {
		taken += atomic_read(&mp->taken[i]);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&mp->released[i]),
				    atomic_read(&mp->taken[i]),
				    "net_iov %u released %d times, taken %d",
				    i, atomic_read(&mp->released[i]),
				    atomic_read(&mp->taken[i]));
	}
	KUNIT_EXPECT_GT(test, taken, 0);
	KUNIT_EXPECT_TRUE(test, bitmap_full(mp->free, PP_MP_NIOVS));
}

/* The pool neither mapped nor unmapped anything for the device. */
static void pp_mp_expect_no_dma(struct kunit *test)
{
	struct pp_test *t = test->priv;

	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->maps), 0,
			    "DMA map of a memory provider's net_iov");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), 0,
			    "DMA unmap of a memory provider's net_iov");
}

/* net_iovs recycle through the pool without going back to the provider. */
static void pp_mp_test_alloc_recycle(struct kunit *test)
{
	struct pp_test_mp *mp = pp_mp(test);
	struct page_pool *pool = pp_mp_create_pool(test, &pp_mp_ops);
	const unsigned int n = 64;
	netmem_ref *netmems;
	unsigned int round, i;

	for (round = 0; round < 3; round++) {
		netmems = pp_mp_alloc(test, pool, n);
		for (i = 0; i < n; i++)
			page_pool_put_full_netmem(pool, netmems[i], false);
	}
	for (i = 0; i < PP_MP_NIOVS; i++) {
		KUNIT_EXPECT_LE(test, atomic_read(&mp->taken[i]), 1);
		KUNIT_EXPECT_EQ(test, atomic_read(&mp->released[i]), 0);
	}
	KUNIT_EXPECT_EQ(test, bitmap_weight(mp->free, PP_MP_NIOVS),
			PP_MP_NIOVS - n);

	pp_mp_destroy_pool(mp);
	KUNIT_EXPECT_TRUE(test, completion_done(&mp->destroyed));
	KUNIT_EXPECT_EQ(test, atomic_read(&mp->scrubs), 1);
	pp_mp_expect_all_back(test);
	pp_mp_expect_no_dma(test);
}

/*
 * Take 32 net_iovs from a pool of @ops, lend PP_MP_LENT of them to users,
 * recycle the rest and destroy the pool. Return the pool, which may be used
 * only while something is inflight.
 */
static struct page_pool *
pp_mp_lend_and_destroy(struct kunit *test,
		       const struct memory_provider_ops *ops)
{
	struct page_pool *pool = pp_mp_create_pool(test, ops);
	const unsigned int n = 32;
	netmem_ref *netmems;
	unsigned int i;

	netmems = pp_mp_alloc(test, pool, n);
	for (i = 0; i < PP_MP_LENT; i++)
		pp_mp_lend(test, netmems[i]);
	for (; i < n; i++)
		page_pool_put_full_netmem(pool, netmems[i], false);
	pp_mp_destroy_pool(pp_mp(test));
	return pool;
}

/*
 * Without scrub, net_iovs lent to users keep a destroyed pool alive until
 * the users give them back.
 */
static void pp_mp_test_destroy_lent_no_scrub(struct kunit *test)
{
	struct page_pool *pool = pp_mp_lend_and_destroy(test,
							&pp_mp_ops_no_scrub);
	struct pp_test_mp *mp = pp_mp(test);

	KUNIT_EXPECT_FALSE(test, completion_done(&mp->destroyed));
	KUNIT_EXPECT_EQ(test, page_pool_inflight(pool, false), PP_MP_LENT);

	pp_mp_return_lent(mp, pool);
	KUNIT_EXPECT_TRUE(test, pp_mp_wait_destroyed(mp));
	KUNIT_EXPECT_EQ(test, atomic_read(&mp->scrubs), 0);
	pp_mp_expect_all_back(test);
	pp_mp_expect_no_dma(test);
}

/*
 * With scrub, the provider takes back what it lent when the pool is
 * destroyed, and the pool is gone before page_pool_destroy() returns.
 */
static void pp_mp_test_destroy_lent_scrub(struct kunit *test)
{
	struct pp_test_mp *mp = pp_mp(test);

	pp_mp_lend_and_destroy(test, &pp_mp_ops);
	KUNIT_EXPECT_EQ(test, atomic_read(&mp->scrubs), 1);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(mp->lent, PP_MP_NIOVS));
	KUNIT_EXPECT_TRUE_MSG(test, completion_done(&mp->destroyed),
			      "pool alive after destroy with nothing inflight");
	pp_mp_expect_all_back(test);
	pp_mp_expect_no_dma(test);
}

/*
 * net_iovs the stack holds when the pool is destroyed are not unmapped: no
 * DMA call is made for the device, before or after they come back.
 */
static void pp_mp_test_destroy_no_dma_unmap(struct kunit *test)
{
	struct pp_test_mp *mp = pp_mp(test);
	struct page_pool *pool = pp_mp_create_pool(test, &pp_mp_ops);
	const unsigned int n = 200;
	netmem_ref *netmems;
	unsigned int i;

	netmems = pp_mp_alloc(test, pool, n);
	pp_mp_destroy_pool(mp);
	pp_mp_expect_no_dma(test);
	KUNIT_EXPECT_EQ(test, page_pool_inflight(pool, false), n);

	for (i = 0; i < n; i++)
		page_pool_put_full_netmem(pool, netmems[i], false);
	KUNIT_EXPECT_TRUE(test, pp_mp_wait_destroyed(mp));
	pp_mp_expect_all_back(test);
	pp_mp_expect_no_dma(test);
}

/*
 * One skb holds pages of a DMA-mapping pool and net_iovs of the provider's
 * pool when both pools are destroyed. The pages are unmapped by destroy, the
 * net_iovs are not; scrub runs once and cannot take what the skb holds, so
 * the provider's pool waits for the skb, which is freed through the skb frag
 * paths with no DMA call, and every net_iov goes back to the provider once.
 */
static void pp_mp_test_mixed_skb_after_destroy(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct pp_test_mp *mp = t->mp;
	struct page_pool *pool = pp_mp_create_pool(test, &pp_mp_ops);
	struct page_pool *page_pool = pp_test_create_pool(test);
	netmem_ref *netmems;
	struct sk_buff *skb;
	struct page *page;
	int maps, unmaps;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, page_pool);
	t->pool = page_pool;
	netmems = pp_mp_alloc(test, pool, 6);
	for (i = 2; i < 6; i++)
		pp_mp_lend(test, netmems[i]);

	skb = alloc_skb(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	for (i = 0; i < 2; i++) {
		page = page_pool_dev_alloc_pages(page_pool);
		KUNIT_ASSERT_NOT_NULL(test, page);
		skb_add_rx_frag(skb, 2 * i, page, 0, PAGE_SIZE / 2, PAGE_SIZE);
		skb_add_rx_frag_netmem(skb, 2 * i + 1, netmems[i], 0,
				       PAGE_SIZE / 2, PAGE_SIZE);
	}
	skb_mark_for_recycle(skb);
	KUNIT_EXPECT_TRUE(test, skb->unreadable);
	maps = atomic_read(&t->maps);
	KUNIT_EXPECT_GE(test, maps, 2);

	pp_test_destroy(t);
	unmaps = atomic_read(&t->unmaps);
	KUNIT_EXPECT_EQ_MSG(test, unmaps, maps,
			    "destroy left %d pages mapped", maps - unmaps);
	pp_mp_destroy_pool(mp);
	KUNIT_EXPECT_EQ(test, atomic_read(&mp->scrubs), 1);
	KUNIT_EXPECT_EQ(test, page_pool_inflight(pool, false), 2);
	KUNIT_EXPECT_FALSE(test, completion_done(&mp->destroyed));

	/* Let the release worker retry: scrub is not called again. */
	msleep(1500);
	KUNIT_EXPECT_EQ(test, atomic_read(&mp->scrubs), 1);
	KUNIT_EXPECT_FALSE(test, completion_done(&mp->destroyed));

	consume_skb(skb);
	KUNIT_EXPECT_TRUE(test, pp_mp_wait_destroyed(mp));
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->maps), maps,
			    "DMA map after page_pool_destroy() returned");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), unmaps,
			    "DMA unmap after page_pool_destroy() returned");
	pp_mp_expect_all_back(test);
}

static struct kunit_case pp_mp_test_cases[] = {
	KUNIT_CASE(pp_mp_test_alloc_recycle),
	KUNIT_CASE(pp_mp_test_destroy_lent_no_scrub),
	KUNIT_CASE(pp_mp_test_destroy_lent_scrub),
	KUNIT_CASE(pp_mp_test_destroy_no_dma_unmap),
	KUNIT_CASE_SLOW(pp_mp_test_mixed_skb_after_destroy),
	{}
};

static struct kunit_suite pp_mp_test_suite = {
	.name		= "page_pool_mp",
	.init		= pp_mp_test_init,
	.exit		= pp_mp_test_exit,
	.test_cases	= pp_mp_test_cases,
};

kunit_test_suites(&pp_test_suite, &pp_track_suite, &pp_mp_test_suite);

MODULE_DESCRIPTION("KUnit tests for the page_pool DMA mapping life cycle");
MODULE_LICENSE("GPL");
