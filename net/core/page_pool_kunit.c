// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the page_pool's DMA mappings.
 *
 * The pools map their pages for a KUnit device. A test that needs a page's
 * release to stop inside its DMA unmap redirects page_pool_dma_unmap() with
 * a static stub; the stub runs only in the test's own thread, so that thread
 * releases the page and other threads do the rest.
 */

#include <kunit/device.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/helpers.h>

#include "page_pool_priv.h"

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

/* Bounds a wait that a broken implementation would make endless; no
 * verdict rests on it.
 */
#define PP_TEST_HANG_TIMEOUT	(60 * HZ)

/* A release held inside its unmap, and the thread that destroys the pool
 * meanwhile.
 */
struct pp_test_held_unmap {
	struct page_pool *pool;
	struct task_struct *destroyer;
	struct completion started;
	struct completion destroyed;
	bool held;		/* the stub caught the release's unmap */
	bool unmapped;		/* ... and has done it */
	bool unmapped_at_return;	/* ... when page_pool_destroy() returned */
	bool stuck;		/* destroy neither returned nor waited */
};

struct pp_test {
	struct device *dev;
	struct pp_test_held_unmap *hold;
	struct page_pool *counted;	/* the pool whose unmaps are counted */
	atomic_t unmaps;
};

static int pp_test_init(struct kunit *test)
{
	struct pp_test *t;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->dev = kunit_device_register(test, "page_pool_test");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->dev);
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(t->dev, DMA_BIT_MASK(64)), 0);
	test->priv = t;

	return 0;
}

static struct page_pool *pp_test_create_dma_pool(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct page_pool_params pp = {
		.flags = PP_FLAG_DMA_MAP,
		.pool_size = 64,
		.nid = NUMA_NO_NODE,
		.dev = t->dev,
		.dma_dir = DMA_FROM_DEVICE,
	};
	struct page_pool *pool;

	pool = page_pool_create(&pp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);

	return pool;
}

/* What page_pool_dma_unmap() does, for the stubs that stand in for it. */
static void pp_test_dma_unmap(struct page_pool *pool, dma_addr_t dma)
{
	dma_unmap_page_attrs(pool->p.dev, dma, PAGE_SIZE << pool->p.order,
			     pool->p.dma_dir,
			     DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_WEAK_ORDERING);
}

static int pp_test_destroyer(void *arg)
{
	struct pp_test_held_unmap *h = arg;

	complete(&h->started);
	page_pool_destroy(h->pool);
	WRITE_ONCE(h->unmapped_at_return, READ_ONCE(h->unmapped));
	kthread_complete_and_exit(&h->destroyed, 0);
}

/* Whether the destroyer sleeps waiting for the held unmap: destroy waits on
 * the pool's destroy_cnt for an item being unmapped.
 */
static bool pp_test_destroy_waits(struct pp_test_held_unmap *h)
{
	wait_queue_head_t *wq = __var_waitqueue(&h->pool->destroy_cnt);

	if (!completion_done(&h->started) || task_is_running(h->destroyer))
		return false;
	/* Read without ordering, and the queue is shared by hash: it only ends
	 * the polling. A stale "no" polls once more; another variable's waiter
	 * would end it early only while the destroyer also sleeps elsewhere.
	 */
	return waitqueue_active(wq);
}

/* Stands in for page_pool_dma_unmap() in the test's thread. For the page the
 * test releases, with its mapping claimed and not yet undone: destroy the
 * pool from another thread now, and unmap only once destroy has either
 * returned or gone to sleep waiting. Anything else, such as another pool's
 * page freed by a softirq running on top of this thread, is unmapped at once.
 */
static void pp_test_unmap_held(struct page_pool *pool, dma_addr_t dma)
{
	struct kunit *test = kunit_get_current_test();
	struct pp_test *t = test->priv;
	struct pp_test_held_unmap *h = t->hold;
	unsigned long timeout = jiffies + PP_TEST_HANG_TIMEOUT;

	if (pool != h->pool || !in_task() || h->held) {
		pp_test_dma_unmap(pool, dma);
		return;
	}
	h->held = true;
	kunit_deactivate_static_stub(test, page_pool_dma_unmap);
	wake_up_process(h->destroyer);

	while (!completion_done(&h->destroyed) && !pp_test_destroy_waits(h)) {
		if (time_after(jiffies, timeout)) {
			h->stuck = true;
			break;
		}
		schedule_timeout_uninterruptible(1);
	}

	page_pool_dma_unmap(pool, dma);
	WRITE_ONCE(h->unmapped, true);
}

/* page_pool_destroy() must not return while a page of the pool is being
 * unmapped: a driver may release its device as soon as destroy returns.
 */
static void pp_test_destroy_waits_for_unmap(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct pp_test_held_unmap *h;
	struct page_pool *pool;
	struct page *page;
	bool returned;

	pool = pp_test_create_dma_pool(test);
	page = page_pool_dev_alloc_pages(pool);
	if (!page) {
		page_pool_destroy(pool);
		KUNIT_FAIL(test, "no page from a pool that maps for a KUnit device");
		return;
	}
	/* Not KUnit-managed: a destroyer that never returns keeps using it. */
	h = kzalloc_obj(*h);
	if (h)
		h->destroyer = kthread_create(pp_test_destroyer, h, "pp_test_destroy");
	if (!h || IS_ERR(h->destroyer)) {
		page_pool_put_full_page(pool, page, false);
		page_pool_destroy(pool);
		kfree(h);
		KUNIT_FAIL(test, "no memory or no destroyer thread");
		return;
	}
	get_task_struct(h->destroyer);
	h->pool = pool;
	init_completion(&h->started);
	init_completion(&h->destroyed);
	t->hold = h;

	/* With a reference of our own the pool cannot recycle the page: the
	 * put below releases it, and the release unmaps it.
	 */
	get_page(page);
	kunit_activate_static_stub(test, page_pool_dma_unmap, pp_test_unmap_held);
	page_pool_put_full_page(pool, page, false);
	put_page(page);
	if (!h->held) {
		kunit_deactivate_static_stub(test, page_pool_dma_unmap);
		wake_up_process(h->destroyer);
	}

	returned = wait_for_completion_timeout(&h->destroyed, PP_TEST_HANG_TIMEOUT);
	put_task_struct(h->destroyer);
	KUNIT_ASSERT_TRUE_MSG(test, returned,
			      "page_pool_destroy() did not return after the unmap");
	KUNIT_EXPECT_TRUE_MSG(test, h->held, "the release did not unmap the page");
	KUNIT_EXPECT_FALSE_MSG(test, h->stuck,
			       "page_pool_destroy() neither returned nor waited for the unmap");
	KUNIT_EXPECT_TRUE_MSG(test, h->unmapped_at_return,
			      "page_pool_destroy() returned while a page was being unmapped");
	kfree(h);
}

/* Counts the unmaps of the test's pool, from any thread, and does them. */
static void pp_test_unmap_counted(struct page_pool *pool, dma_addr_t dma)
{
	struct kunit *test = kunit_get_current_test();
	struct pp_test *t;

	pp_test_dma_unmap(pool, dma);
	/* Static stubs redirect only in the test's thread. */
	if (!test)
		return;
	t = test->priv;
	if (pool == t->counted)
		atomic_inc(&t->unmaps);
}

#define PP_TEST_INFLIGHT	300

/* page_pool_destroy() unmaps the pages the stack still holds, and the pages
 * make no DMA API call for the device when they come back later.
 */
static void pp_test_destroy_unmaps_inflight(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct page_pool *pool;
	struct page **pages;
	int i, n, mapped, at_destroy;

	/* Not KUnit-managed: put back below, after destroy. */
	pages = kcalloc(PP_TEST_INFLIGHT, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	pool = pp_test_create_dma_pool(test);
	for (n = 0; n < PP_TEST_INFLIGHT; n++) {
		pages[n] = page_pool_dev_alloc_pages(pool);
		if (!pages[n])
			break;
	}
	KUNIT_EXPECT_EQ(test, n, PP_TEST_INFLIGHT);

	/* Pages in the pool's cache count too: every page that entered the
	 * pool was mapped, and none has left it yet.
	 */
	mapped = READ_ONCE(pool->pages_state_hold_cnt);
	t->counted = pool;
	atomic_set(&t->unmaps, 0);
	kunit_activate_static_stub(test, page_pool_dma_unmap,
				   pp_test_unmap_counted);
	page_pool_destroy(pool);
	at_destroy = atomic_read(&t->unmaps);
	/* With a reference of our own the pool cannot recycle the page, so
	 * it leaves the pool in this thread, where unmaps are counted.
	 */
	for (i = 0; i < n; i++) {
		get_page(pages[i]);
		page_pool_put_full_page(pool, pages[i], false);
		put_page(pages[i]);
	}
	kunit_deactivate_static_stub(test, page_pool_dma_unmap);
	kfree(pages);

	KUNIT_EXPECT_EQ_MSG(test, at_destroy, mapped,
			    "page_pool_destroy() returned with pages of the pool still mapped");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), at_destroy,
			    "pages returned after page_pool_destroy() were unmapped then");
}

static struct kunit_case pp_test_cases[] = {
	KUNIT_CASE(pp_test_destroy_waits_for_unmap),
	KUNIT_CASE(pp_test_destroy_unmaps_inflight),
	{}
};

static struct kunit_suite pp_test_suite = {
	.name = "page_pool",
	.init = pp_test_init,
	.test_cases = pp_test_cases,
};

kunit_test_suite(pp_test_suite);

MODULE_DESCRIPTION("KUnit tests for the page_pool");
MODULE_LICENSE("GPL");
