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
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <net/page_pool/helpers.h>
#include <trace/events/dma.h>

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

static int pp_test_init(struct kunit *test)
{
	struct page_pool_params pp = {
		.order		= 0,
		.pool_size	= PP_TEST_POOL_SIZE,
		.nid		= NUMA_NO_NODE,
		.dma_dir	= DMA_FROM_DEVICE,
		.flags		= PP_FLAG_DMA_MAP,
	};
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

	pp.dev = t->dev;
	t->pool = page_pool_create(&pp);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, t->pool);
	if (IS_ERR(t->pool))
		t->pool = NULL;
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
	pages = kunit_kcalloc(test, n, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (i = 0; i < n; i++) {
		pages[i] = page_pool_dev_alloc_pages(pool);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
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

static struct kunit_case pp_test_cases[] = {
	KUNIT_CASE(pp_test_recycle_keeps_mapping),
	KUNIT_CASE(pp_test_release_unmaps),
	KUNIT_CASE_PARAM(pp_test_destroy_unmaps_inflight,
			 pp_test_inflight_gen_params),
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
