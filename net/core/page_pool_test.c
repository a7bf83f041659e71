// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the page_pool DMA mapping life cycle.
 *
 * Every case runs a pool that DMA-maps its pages for a KUnit device and
 * counts, through the dma_map_page and dma_unmap_page tracepoints, each map
 * and unmap made for that device. A case first asserts that the maps it
 * caused were seen, so a tracepoint that does not fire cannot make it pass.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <net/page_pool/helpers.h>
#include <kunit/static_stub.h>
#include <trace/events/dma.h>

#include "page_pool_priv.h"

#define PP_TEST_POOL_SIZE	256

struct pp_test {
	struct device *dev;
	struct page_pool *pool;
	atomic_t maps;
	atomic_t unmaps;
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

static void pp_test_unmap_probe(void *data, struct device *dev,
				dma_addr_t addr, size_t size,
				enum dma_data_direction dir,
				unsigned long attrs)
{
	struct pp_test *t = data;

	if (dev == t->dev)
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

static int pp_test_init(struct kunit *test)
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

kunit_test_suite(pp_test_suite);

MODULE_DESCRIPTION("KUnit tests for the page_pool DMA mapping life cycle");
MODULE_LICENSE("GPL");
