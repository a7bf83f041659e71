// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the page_pool's DMA mappings, for the items that track
 * its netmems, and for the parameters page_pool_create() must refuse.
 *
 * The pools map their pages for a KUnit device. A test that needs a page's
 * release to stop inside its DMA unmap redirects page_pool_dma_unmap() with
 * a static stub; the stub runs only in the test's own thread, so that thread
 * releases the page and other threads do the rest. Tests that need the pool
 * to run out of items redirect page_pool_item_block_alloc() the same way.
 */

#include <kunit/device.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/math.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/wait_bit.h>
#include <net/netdev_lock.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/helpers.h>
#include <net/page_pool/memory_provider.h>

#include "page_pool_priv.h"

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

/* Bounds a wait that a broken implementation would make endless; no
 * verdict rests on it.
 */
#define PP_TEST_HANG_TIMEOUT	(60 * HZ)

/* A release held inside its unmap, and the thread that destroys the pool
 * meanwhile. The release is held until destroy sleeps waiting for it or, with
 * until_warned, until destroy has said that it waits.
 */
struct pp_test_held_unmap {
	struct page_pool *pool;
	struct task_struct *destroyer;
	struct completion started;
	struct completion destroyed;
	bool until_warned;
	bool held;		/* the stub caught the release's unmap */
	bool unmapped;		/* ... and has done it */
	bool unmapped_at_return;	/* ... when page_pool_destroy() returned */
	bool stuck;		/* destroy neither returned nor waited */
	u32 warned;		/* destroy's warnings when the unmap went on */
};

struct pp_test_race;

struct pp_test {
	struct device *dev;
	struct pp_test_held_unmap *hold;
	struct pp_test_race *race;
	struct page_pool *counted;	/* the pool whose unmaps are counted */
	atomic_t unmaps;
	unsigned int block_allocs;	/* item blocks the pool asked for */
	int mp_init_err;		/* what the memory provider's ->init says */
	unsigned int mp_inits;		/* calls of its ->init ... */
	unsigned int mp_destroys;	/* ... and of its ->destroy */
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

static struct page_pool *pp_test_create_dma_pool(struct kunit *test,
						 unsigned int size,
						 unsigned int order)
{
	struct pp_test *t = test->priv;
	struct page_pool_params pp = {
		.flags = PP_FLAG_DMA_MAP,
		.order = order,
		.pool_size = size,
		.nid = NUMA_NO_NODE,
		.dev = t->dev,
		.dma_dir = DMA_FROM_DEVICE,
	};
	struct page_pool *pool;

	pool = page_pool_create(&pp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);

	return pool;
}

/* Puts @page back so that it leaves @pool at once, in this thread: with a
 * reference of our own the pool cannot recycle it.
 */
static void pp_test_release_page(struct page_pool *pool, struct page *page)
{
	get_page(page);
	page_pool_put_full_page(pool, page, false);
	put_page(page);
}

/* Releases the first @n of @pages, as pp_test_release_page(). */
static void pp_test_release_pages(struct page_pool *pool, struct page **pages,
				  unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		pp_test_release_page(pool, pages[i]);
		cond_resched();
	}
}

/* Allocates @n pages of @pool into @pages; returns how many it got. */
static unsigned int pp_test_alloc_pages(struct page_pool *pool,
					struct page **pages, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		pages[i] = page_pool_dev_alloc_pages(pool);
		if (!pages[i])
			break;
		cond_resched();
	}
	return i;
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

/* Whether the held release may finish: destroy sleeps waiting for it or,
 * when held past the bound, destroy has warned. The pool lives on while the
 * held page is out.
 */
static bool pp_test_hold_over(struct pp_test_held_unmap *h)
{
	if (h->until_warned)
		return READ_ONCE(h->pool->unmap_wait_warnings);
	return pp_test_destroy_waits(h);
}

/* Stands in for page_pool_dma_unmap() in the test's thread. For the page the
 * test releases, with its mapping claimed and not yet undone: destroy the
 * pool from another thread now, and unmap only once destroy has either
 * returned or gone as far as pp_test_hold_over() asks. Anything else, such
 * as another pool's page freed by a softirq running on top of this thread,
 * is unmapped at once.
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

	while (!completion_done(&h->destroyed) && !pp_test_hold_over(h)) {
		if (time_after(jiffies, timeout)) {
			h->stuck = true;
			break;
		}
		schedule_timeout_uninterruptible(1);
	}

	h->warned = READ_ONCE(pool->unmap_wait_warnings);
	page_pool_dma_unmap(pool, dma);
	WRITE_ONCE(h->unmapped, true);
}

/* Releases a page of a new pool, holding the release inside its unmap while
 * another thread destroys the pool, and checks that destroy returned only
 * after that unmap. Returns the hold, for the caller to check and free, or
 * NULL when the case failed already.
 */
static struct pp_test_held_unmap *
pp_test_hold_release(struct kunit *test, bool until_warned)
{
	struct pp_test *t = test->priv;
	struct pp_test_held_unmap *h;
	struct page_pool *pool;
	struct page *page;
	bool returned;

	pool = pp_test_create_dma_pool(test, 64, 0);
	page = page_pool_dev_alloc_pages(pool);
	if (!page) {
		page_pool_destroy(pool);
		KUNIT_FAIL(test, "no page from a pool that maps for a KUnit device");
		return NULL;
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
		return NULL;
	}
	get_task_struct(h->destroyer);
	h->pool = pool;
	h->until_warned = until_warned;
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
	if (!returned) {
		/* The destroyer still uses @h: leak it. */
		KUNIT_FAIL(test, "page_pool_destroy() did not return after the unmap");
		return NULL;
	}
	KUNIT_EXPECT_TRUE_MSG(test, h->held, "the release did not unmap the page");
	KUNIT_EXPECT_TRUE_MSG(test, h->unmapped_at_return,
			      "page_pool_destroy() returned while a page was being unmapped");
	return h;
}

/* page_pool_destroy() must not return while a page of the pool is being
 * unmapped: a driver may release its device as soon as destroy returns.
 */
static void pp_test_destroy_waits_for_unmap(struct kunit *test)
{
	struct pp_test_held_unmap *h = pp_test_hold_release(test, false);

	if (!h)
		return;
	KUNIT_EXPECT_FALSE_MSG(test, h->stuck,
			       "page_pool_destroy() neither returned nor waited for the unmap");
	kfree(h);
}

static void pp_test_restore_unmap_wait_warn(void *bound)
{
	WRITE_ONCE(page_pool_unmap_wait_warn, (unsigned long)bound);
}

/* A release that keeps destroy waiting past its bound makes destroy warn,
 * naming the pool, and destroy still returns only once that release's unmap
 * is done. The release is held until the warning, however long it takes;
 * the bound is shortened so that the case does not wait ten seconds.
 */
static void pp_test_destroy_warns_on_held_unmap(struct kunit *test)
{
	void *bound = (void *)READ_ONCE(page_pool_unmap_wait_warn);
	struct pp_test_held_unmap *h;
	int err;

	err = kunit_add_action_or_reset(test, pp_test_restore_unmap_wait_warn,
					bound);
	KUNIT_ASSERT_EQ(test, err, 0);
	WRITE_ONCE(page_pool_unmap_wait_warn, HZ / 10);

	h = pp_test_hold_release(test, true);
	if (!h)
		return;
	KUNIT_EXPECT_EQ_MSG(test, h->warned, 1,
			    "page_pool_destroy() did not warn once about the unmap it waited for");
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

/* page_pool_destroy() with @nr pages out unmaps the pages the stack still
 * holds, and the pages make no DMA API call for the device when they come
 * back later. Logs how long destroy took and what the items took.
 */
static void pp_test_destroy_with_inflight(struct kunit *test, unsigned int nr)
{
	struct pp_test *t = test->priv;
	int mapped, at_destroy;
	unsigned int n, blocks;
	struct page_pool *pool;
	struct page **pages;
	u64 ns;

	/* Not KUnit-managed: put back below, after destroy. */
	pages = kvcalloc(nr, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	pool = pp_test_create_dma_pool(test, 64, 0);
	n = pp_test_alloc_pages(pool, pages, nr);
	KUNIT_EXPECT_EQ(test, n, nr);

	/* Pages in the pool's cache count too: every page that entered the
	 * pool was mapped, and none has left it yet.
	 */
	mapped = READ_ONCE(pool->pages_state_hold_cnt);
	blocks = list_count_nodes(&pool->item_blocks);
	t->counted = pool;
	atomic_set(&t->unmaps, 0);
	kunit_activate_static_stub(test, page_pool_dma_unmap,
				   pp_test_unmap_counted);
	ns = ktime_get_ns();
	page_pool_destroy(pool);
	ns = ktime_get_ns() - ns;
	at_destroy = atomic_read(&t->unmaps);
	/* The pages leave the pool in this thread, where unmaps are counted. */
	pp_test_release_pages(pool, pages, n);
	kunit_deactivate_static_stub(test, page_pool_dma_unmap);
	kvfree(pages);

	kunit_info(test, "%u pages out: destroy took %llu us; item blocks: %u, %lu KiB\n",
		   n, div_u64(ns, NSEC_PER_USEC), blocks,
		   blocks * PAGE_SIZE / 1024);
	KUNIT_EXPECT_EQ_MSG(test, at_destroy, mapped,
			    "page_pool_destroy() returned with pages of the pool still mapped");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), at_destroy,
			    "pages returned after page_pool_destroy() were unmapped then");
}

static void pp_test_destroy_unmaps_inflight(struct kunit *test)
{
	pp_test_destroy_with_inflight(test, PP_TEST_INFLIGHT);
}

/* 4 GiB of order-0 pages out, as a host whose sockets and reassembly
 * queues hold that much of one device's rx pages. Skips on a kernel with
 * less memory than that and a quarter more.
 */
#define PP_TEST_MANY_INFLIGHT	(1024 * 1024)

static void pp_test_destroy_unmaps_many_inflight(struct kunit *test)
{
	unsigned long need = PP_TEST_MANY_INFLIGHT + PP_TEST_MANY_INFLIGHT / 4;

	if (totalram_pages() < need)
		kunit_skip(test, "needs %lu MiB of memory, the kernel has %lu MiB",
			   need >> (20 - PAGE_SHIFT),
			   totalram_pages() >> (20 - PAGE_SHIFT));
	pp_test_destroy_with_inflight(test, PP_TEST_MANY_INFLIGHT);
}

/* Pages released by a thread on every online CPU while destroy walks the
 * items, round after round: PP_TEST_RACE_ROUNDS * PP_TEST_RACE_PAGES
 * returns racing destroy.
 */
#define PP_TEST_RACE_ROUNDS	100
#define PP_TEST_RACE_PAGES	1024

struct pp_test_race {
	struct kunit *test;
	struct task_struct *destroyer;
	struct page_pool *pool;
	struct page **pages;
	unsigned int nr_racers;
	struct completion go;		/* destroy walks the items */
	struct completion quarter;	/* a quarter of the pages are back */
	atomic_t released;
	bool started;
	bool stuck;
};

struct pp_test_racer {
	struct pp_test_race *race;
	struct task_struct *task;
	unsigned int first;
	struct completion done;
};

static int pp_test_racer(void *arg)
{
	struct pp_test_racer *r = arg;
	struct pp_test_race *race = r->race;
	unsigned int i;

	/* Static stubs redirect in the test's threads: count unmaps here. */
	current->kunit_test = race->test;
	wait_for_completion(&race->go);
	for (i = r->first; i < PP_TEST_RACE_PAGES; i += race->nr_racers) {
		pp_test_release_page(race->pool, race->pages[i]);
		if (atomic_inc_return(&race->released) == PP_TEST_RACE_PAGES / 4)
			complete(&race->quarter);
	}
	current->kunit_test = NULL;
	kthread_complete_and_exit(&r->done, 0);
}

/* Counts the unmaps, as pp_test_unmap_counted(). At destroy's first unmap
 * in its walk of the items, lets the racers go and waits until they have
 * released a quarter of the pages; destroy then walks on while they release
 * the rest.
 */
static void pp_test_unmap_racing(struct page_pool *pool, dma_addr_t dma)
{
	struct pp_test *t = kunit_get_current_test()->priv;
	struct pp_test_race *race = t->race;

	if (current == race->destroyer && pool == race->pool &&
	    READ_ONCE(pool->destroy_cnt) && !race->started) {
		race->started = true;
		complete_all(&race->go);
		if (!wait_for_completion_timeout(&race->quarter,
						 PP_TEST_HANG_TIMEOUT))
			race->stuck = true;
	}
	pp_test_unmap_counted(pool, dma);
}

/* Starts a racer bound to each online CPU, up to @max, waiting for
 * race->go; the racers share the pages out between them.
 */
static unsigned int pp_test_start_racers(struct pp_test_race *race,
					 struct pp_test_racer *racers,
					 unsigned int max)
{
	unsigned int cpu, n = 0, i;

	for_each_online_cpu(cpu) {
		if (n == max)
			break;
		racers[n].race = race;
		racers[n].first = n;
		init_completion(&racers[n].done);
		racers[n].task = kthread_create_on_cpu(pp_test_racer, &racers[n],
						       cpu, "pp_test_race/%u");
		if (IS_ERR(racers[n].task))
			break;
		n++;
	}
	race->nr_racers = n;
	for (i = 0; i < n; i++)
		wake_up_process(racers[i].task);
	return n;
}

/* Destroy walks the items while every CPU releases pages of the pool: every
 * page that entered the pool is unmapped once, by its release or by destroy,
 * and all of them before destroy returns.
 */
static void pp_test_destroy_races_releases(struct kunit *test)
{
	unsigned int round, i, n, nr_racers, during = 0;
	unsigned int cpus = num_online_cpus();
	struct pp_test *t = test->priv;
	struct pp_test_racer *racers;
	struct pp_test_race *race;
	int mapped, at_destroy;
	struct page_pool *pool;

	race = kunit_kzalloc(test, sizeof(*race), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, race);
	race->pages = kunit_kcalloc(test, PP_TEST_RACE_PAGES,
				    sizeof(*race->pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, race->pages);
	racers = kunit_kcalloc(test, cpus, sizeof(*racers), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, racers);
	race->test = test;
	race->destroyer = current;
	t->race = race;
	kunit_activate_static_stub(test, page_pool_dma_unmap,
				   pp_test_unmap_racing);

	for (round = 0; round < PP_TEST_RACE_ROUNDS; round++) {
		pool = pp_test_create_dma_pool(test, 256, 0);
		n = pp_test_alloc_pages(pool, race->pages, PP_TEST_RACE_PAGES);
		if (n < PP_TEST_RACE_PAGES) {
			KUNIT_FAIL(test, "round %u: %u pages of %u", round, n,
				   PP_TEST_RACE_PAGES);
			goto give_up;
		}
		mapped = READ_ONCE(pool->pages_state_hold_cnt);
		t->counted = pool;
		atomic_set(&t->unmaps, 0);
		race->pool = pool;
		race->started = false;
		atomic_set(&race->released, 0);
		init_completion(&race->go);
		init_completion(&race->quarter);
		nr_racers = pp_test_start_racers(race, racers, cpus);
		if (!nr_racers) {
			KUNIT_FAIL(test, "no racer thread");
			goto give_up;
		}

		page_pool_destroy(pool);
		at_destroy = atomic_read(&t->unmaps);
		during += atomic_read(&race->released);
		/* Let the racers go if destroy never unmapped in its walk. */
		complete_all(&race->go);
		for (i = 0; i < nr_racers; i++)
			wait_for_completion(&racers[i].done);

		KUNIT_EXPECT_TRUE_MSG(test, race->started,
				      "destroy unmapped no page in its walk");
		KUNIT_EXPECT_FALSE_MSG(test, race->stuck,
				       "the racers released no quarter of the pages");
		KUNIT_EXPECT_EQ_MSG(test, at_destroy, mapped,
				    "round %u: page_pool_destroy() returned with pages still mapped",
				    round);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), mapped,
				    "round %u: pages unmapped twice, or after destroy returned",
				    round);
		KUNIT_EXPECT_EQ_MSG(test, nr_racers, cpus,
				    "round %u: not a racer on every CPU", round);
		if (!race->started || race->stuck || nr_racers != cpus ||
		    at_destroy != mapped || atomic_read(&t->unmaps) != mapped)
			break;
	}
	goto out;

give_up:
	/* A round that could not race: its pages back, its pool gone. */
	pp_test_release_pages(pool, race->pages, n);
	page_pool_destroy(pool);
out:
	kunit_deactivate_static_stub(test, page_pool_dma_unmap);
	kunit_info(test, "%u rounds, %u racers: %u of %u releases before destroy returned\n",
		   round, cpus, during, round * PP_TEST_RACE_PAGES);
}

/* Stands in for page_pool_item_block_alloc(): no memory for items. */
static struct page_pool_item_block *
pp_test_no_item_block(struct page_pool *pool, gfp_t gfp)
{
	struct pp_test *t = kunit_get_current_test()->priv;

	t->block_allocs++;
	return NULL;
}

static const unsigned int pp_test_orders[] = { 0, 1 };

static void pp_test_order_desc(const unsigned int *order, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "order-%u", *order);
}

KUNIT_ARRAY_PARAM(pp_test_order, pp_test_orders, pp_test_order_desc);

/* When the pool has no memory for items, allocation fails cleanly: every
 * page in the pool holds an item, a page that got none is not handed out,
 * and an allocation asks for a block once at most (the bulk refill does not
 * ask again for each of its pages). An item given back by a page leaving
 * the pool is taken again. Order 0 goes through the bulk refill, order 1
 * through the single page path.
 */
static void pp_test_item_alloc_fails(struct kunit *test)
{
	const unsigned int *order = test->param_value;
	const unsigned int max = 2 * PAGE_POOL_BLOCK_ITEMS;
	struct pp_test *t = test->priv;
	unsigned int n, asked, retries = 0;
	struct page_pool *pool;
	struct page **pages;
	int entered;

	pages = kunit_kcalloc(test, max, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	pool = pp_test_create_dma_pool(test, 64, *order);
	t->counted = pool;
	atomic_set(&t->unmaps, 0);
	kunit_activate_static_stub(test, page_pool_dma_unmap,
				   pp_test_unmap_counted);

	/* The first allocation gets the pool its first block, the last one
	 * it can have.
	 */
	pages[0] = page_pool_dev_alloc_pages(pool);
	KUNIT_EXPECT_NOT_NULL(test, pages[0]);
	n = !!pages[0];
	kunit_activate_static_stub(test, page_pool_item_block_alloc,
				   pp_test_no_item_block);
	for (asked = 0; n && n < max; n++) {
		asked = t->block_allocs;
		pages[n] = page_pool_dev_alloc_pages(pool);
		if (t->block_allocs - asked > 1)
			retries++;
		if (!pages[n])
			break;
	}
	KUNIT_EXPECT_LT_MSG(test, n, max, "the pool never ran out of items");
	KUNIT_EXPECT_EQ_MSG(test, t->block_allocs - asked, 1,
			    "the failed allocation did not ask for one block");
	KUNIT_EXPECT_EQ_MSG(test, retries, 0,
			    "allocations asked for a block again after a failure");
	KUNIT_EXPECT_EQ_MSG(test, n + pool->alloc.count, PAGE_POOL_BLOCK_ITEMS,
			    "items lost, or pages in the pool without one");
	KUNIT_EXPECT_EQ(test, pool->pages_state_hold_cnt, PAGE_POOL_BLOCK_ITEMS);

	if (n) {
		pp_test_release_page(pool, pages[--n]);
		pages[n] = page_pool_dev_alloc_pages(pool);
		KUNIT_EXPECT_NOT_NULL_MSG(test, pages[n],
					  "a released item was not taken again");
		n += !!pages[n];
	}
	kunit_deactivate_static_stub(test, page_pool_item_block_alloc);

	pp_test_release_pages(pool, pages, n);
	entered = READ_ONCE(pool->pages_state_hold_cnt);
	page_pool_destroy(pool);
	kunit_deactivate_static_stub(test, page_pool_dma_unmap);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->unmaps), entered,
			    "pages mapped and unmapped a different number of times");
}

/* Up to 16 MiB of pages: kunit.py's QEMU guests have 128 MiB by default. */
static const unsigned int pp_test_ring_sizes[] = { 256, 1024, 4096 };

static void pp_test_ring_size_desc(const unsigned int *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "ring-%u", *size);
}

KUNIT_ARRAY_PARAM(pp_test_ring_size, pp_test_ring_sizes,
		  pp_test_ring_size_desc);

/* A pool has no items before it allocates, and then one block for each
 * PAGE_POOL_BLOCK_ITEMS netmems it had out at its busiest: a ring's worth
 * of pages out, released and allocated again takes no new block. Logs the
 * memory the items take.
 */
static void pp_test_items_follow_peak(struct kunit *test)
{
	const unsigned int *size = test->param_value;
	unsigned int n, blocks, again;
	struct page_pool *pool;
	struct page **pages;

	pages = kunit_kcalloc(test, *size, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	pool = pp_test_create_dma_pool(test, *size, 0);
	KUNIT_EXPECT_TRUE_MSG(test, list_empty(&pool->item_blocks),
			      "a pool that allocated nothing has items");

	n = pp_test_alloc_pages(pool, pages, *size);
	KUNIT_EXPECT_EQ(test, n, *size);
	blocks = list_count_nodes(&pool->item_blocks);
	KUNIT_EXPECT_EQ(test, blocks,
			DIV_ROUND_UP(pool->pages_state_hold_cnt,
				     PAGE_POOL_BLOCK_ITEMS));
	kunit_info(test, "%u netmems out: %u blocks of %lu items, %lu KiB\n",
		   pool->pages_state_hold_cnt, blocks,
		   (unsigned long)PAGE_POOL_BLOCK_ITEMS,
		   blocks * PAGE_SIZE / 1024);

	pp_test_release_pages(pool, pages, n);
	n = pp_test_alloc_pages(pool, pages, *size);
	KUNIT_EXPECT_EQ(test, n, *size);
	again = list_count_nodes(&pool->item_blocks);
	KUNIT_EXPECT_EQ_MSG(test, again, blocks,
			    "released items were not taken again");

	pp_test_release_pages(pool, pages, n);
	page_pool_destroy(pool);
}

/* The rx queues of the netdev that the pools of the memory provider rows
 * are created for.
 */
#define PP_TEST_RX_QUEUES	1

static void pp_test_netdev_setup(struct net_device *dev)
{
}

KUNIT_DEFINE_ACTION_WRAPPER(pp_test_free_netdev, free_netdev,
			    struct net_device *);

/* A netdev, never registered, with PP_TEST_RX_QUEUES rx queues. */
static struct net_device *pp_test_alloc_netdev(struct kunit *test)
{
	struct net_device *dev;

	dev = alloc_netdev_mqs(0, "pptest%d", NET_NAME_UNKNOWN,
			       pp_test_netdev_setup, 1, PP_TEST_RX_QUEUES);
	KUNIT_ASSERT_NOT_NULL(test, dev);
	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test, pp_test_free_netdev, dev),
			0);

	return dev;
}

/* A memory provider for rows where page_pool_create() must refuse the pool
 * before the provider hands out anything: it counts ->init and ->destroy,
 * and has no netmem to give.
 */
static int pp_test_mp_init(struct page_pool *pool)
{
	struct pp_test *t = pool->mp_priv;

	t->mp_inits++;

	return t->mp_init_err;
}

static void pp_test_mp_destroy(struct page_pool *pool)
{
	struct pp_test *t = pool->mp_priv;

	t->mp_destroys++;
}

static netmem_ref pp_test_mp_alloc_netmems(struct page_pool *pool, gfp_t gfp)
{
	return 0;
}

static bool pp_test_mp_release_netmem(struct page_pool *pool,
				      netmem_ref netmem)
{
	return false;
}

static const struct memory_provider_ops pp_test_mp_ops = {
	.alloc_netmems = pp_test_mp_alloc_netmems,
	.release_netmem = pp_test_mp_release_netmem,
	.init = pp_test_mp_init,
	.destroy = pp_test_mp_destroy,
};

/* page_pool_create() parameters that it must refuse, and its answer. */
struct pp_test_bad_params {
	const char *name;
	unsigned int flags;
	unsigned int order;
	enum dma_data_direction dma_dir;
	unsigned int max_len;
	bool no_dev;
	bool netdev;		/* for rx queue @queue_idx of a netdev */
	unsigned int queue_idx;
	bool provider;		/* pp_test_mp_ops on rx queue 0 */
	int mp_init_err;	/* what its ->init returns */
	int err;
};

static const struct pp_test_bad_params pp_test_bad_params[] = {
	{ .name = "unknown-flag", .flags = (PP_FLAG_ALL + 1) & ~PP_FLAG_ALL,
	  .err = -EINVAL },
	{ .name = "dma-to-device", .flags = PP_FLAG_DMA_MAP,
	  .dma_dir = DMA_TO_DEVICE, .err = -EINVAL },
	{ .name = "dma-none", .flags = PP_FLAG_DMA_MAP, .dma_dir = DMA_NONE,
	  .err = -EINVAL },
	{ .name = "dma-map-no-device", .flags = PP_FLAG_DMA_MAP,
	  .dma_dir = DMA_FROM_DEVICE, .no_dev = true, .err = -EINVAL },
	{ .name = "sync-without-map", .flags = PP_FLAG_DMA_SYNC_DEV,
	  .dma_dir = DMA_FROM_DEVICE, .max_len = PAGE_SIZE, .err = -EINVAL },
	{ .name = "sync-max-len-0",
	  .flags = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV,
	  .dma_dir = DMA_FROM_DEVICE, .err = -EINVAL },
	{ .name = "order-above-max", .order = MAX_PAGE_ORDER + 1,
	  .err = -EINVAL },
	{ .name = "unreadable-no-netdev",
	  .flags = PP_FLAG_ALLOW_UNREADABLE_NETMEM, .err = -EINVAL },
	{ .name = "unreadable-queue-out-of-range",
	  .flags = PP_FLAG_ALLOW_UNREADABLE_NETMEM, .netdev = true,
	  .queue_idx = PP_TEST_RX_QUEUES, .err = -EINVAL },
	{ .name = "provider-no-dma-map",
	  .flags = PP_FLAG_ALLOW_UNREADABLE_NETMEM, .netdev = true,
	  .provider = true, .err = -EOPNOTSUPP },
	{ .name = "provider-no-dma-sync",
	  .flags = PP_FLAG_ALLOW_UNREADABLE_NETMEM | PP_FLAG_DMA_MAP,
	  .dma_dir = DMA_FROM_DEVICE, .netdev = true, .provider = true,
	  .err = -EOPNOTSUPP },
	{ .name = "provider-init-fails",
	  .flags = PP_FLAG_ALLOW_UNREADABLE_NETMEM | PP_FLAG_DMA_MAP |
		   PP_FLAG_DMA_SYNC_DEV,
	  .dma_dir = DMA_FROM_DEVICE, .max_len = PAGE_SIZE, .netdev = true,
	  .provider = true, .mp_init_err = -ENOSPC, .err = -ENOSPC },
};

static void pp_test_bad_params_desc(const struct pp_test_bad_params *p,
				    char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pp_test_bad_params, pp_test_bad_params,
		  pp_test_bad_params_desc);

/* page_pool_create() refuses parameters it cannot honour with an error, and
 * hands out no pool. A pool that was wrongly created is destroyed without
 * allocating from it: its first allocation could be what crashes. A memory
 * provider is asked to set up for a pool only once the parameters are
 * valid, and is not told to tear down a pool that was never created.
 */
static void pp_test_create_bad_params(struct kunit *test)
{
	const struct pp_test_bad_params *bad = test->param_value;
	struct pp_test *t = test->priv;
	struct page_pool_params pp = {
		.flags = bad->flags,
		.order = bad->order,
		.pool_size = 64,
		.nid = NUMA_NO_NODE,
		.dev = bad->no_dev ? NULL : t->dev,
		.dma_dir = bad->dma_dir,
		.max_len = bad->max_len,
		.queue_idx = bad->queue_idx,
	};
	struct netdev_rx_queue *rxq;
	struct page_pool *pool;

	/* page_pool_init() wants the provider's ops in the kernel's rodata */
	if (bad->provider && IS_MODULE(CONFIG_PAGE_POOL_KUNIT_TEST))
		kunit_skip(test, "a module's memory provider ops are refused");

	if (bad->netdev)
		pp.netdev = pp_test_alloc_netdev(test);
	if (bad->provider) {
		rxq = __netif_get_rx_queue(pp.netdev, 0);
		rxq->mp_params.mp_ops = &pp_test_mp_ops;
		rxq->mp_params.mp_priv = t;
		t->mp_init_err = bad->mp_init_err;
	}

	if (pp.netdev)
		netdev_lock(pp.netdev);
	pool = page_pool_create(&pp);
	if (!IS_ERR_OR_NULL(pool))
		page_pool_destroy(pool);
	if (pp.netdev)
		netdev_unlock(pp.netdev);

	KUNIT_EXPECT_TRUE_MSG(test, IS_ERR(pool), "a pool was created");
	if (IS_ERR(pool))
		KUNIT_EXPECT_EQ(test, PTR_ERR(pool), bad->err);
	KUNIT_EXPECT_EQ_MSG(test, t->mp_inits, bad->mp_init_err ? 1 : 0,
			    "the provider was set up for invalid parameters");
	KUNIT_EXPECT_EQ_MSG(test, t->mp_destroys, 0,
			    "the provider tore down a pool never created");
}

/* Pool sizes page_pool_create() takes as they are, or not: 0 asks for the
 * default ring of 1024 entries, and no ring has more than 16384.
 */
struct pp_test_pool_size {
	unsigned int pool_size;
	int ring_size;
};

static const struct pp_test_pool_size pp_test_pool_sizes[] = {
	{ 0, 1024 }, { 1, 1 }, { 16384, 16384 }, { 16385, 16384 },
	{ UINT_MAX, 16384 },
};

static void pp_test_pool_size_desc(const struct pp_test_pool_size *p,
				   char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "pool-size-%u", p->pool_size);
}

KUNIT_ARRAY_PARAM(pp_test_pool_size, pp_test_pool_sizes,
		  pp_test_pool_size_desc);

static void pp_test_create_ring_size(struct kunit *test)
{
	const struct pp_test_pool_size *size = test->param_value;
	struct page_pool_params pp = {
		.pool_size = size->pool_size,
		.nid = NUMA_NO_NODE,
	};
	struct page_pool *pool;

	pool = page_pool_create(&pp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);
	KUNIT_EXPECT_EQ(test, pool->ring.size, size->ring_size);
	page_pool_destroy(pool);
}

/* A memory provider that hands out net_iovs of its own, as devmem and
 * io_uring zcrx do: each allocation makes the next free net_iov part of the
 * pool, and keeps it when that fails. Each net_iov stands for a page mapped
 * for the test's device, which the pool syncs when the net_iov comes back.
 */
#define PP_TEST_NIOVS	8

struct pp_test_niovs {
	struct device *dev;
	struct net_iov_area area;
	struct net_iov niovs[PP_TEST_NIOVS];
	struct page *pages[PP_TEST_NIOVS];
	dma_addr_t dma[PP_TEST_NIOVS];
	struct net_iov *free[PP_TEST_NIOVS];
	unsigned int nr_free;
	unsigned int failed;	/* net_iovs the pool would not take */
	unsigned int destroys;
};

static netmem_ref pp_test_niov_alloc(struct page_pool *pool, gfp_t gfp)
{
	struct pp_test_niovs *p = pool->mp_priv;
	struct net_iov *niov;

	if (!p->nr_free)
		return 0;
	niov = p->free[--p->nr_free];
	if (!net_mp_niov_set_page_pool(pool, niov)) {
		p->free[p->nr_free++] = niov;
		p->failed++;
		return 0;
	}
	return net_iov_to_netmem(niov);
}

static bool pp_test_niov_release(struct page_pool *pool, netmem_ref netmem)
{
	struct pp_test_niovs *p = pool->mp_priv;
	struct net_iov *niov = netmem_to_net_iov(netmem);

	net_mp_niov_clear_page_pool(niov);
	p->free[p->nr_free++] = niov;
	return false;
}

static int pp_test_niov_init(struct page_pool *pool)
{
	return 0;
}

static void pp_test_niov_destroy(struct page_pool *pool)
{
	struct pp_test_niovs *p = pool->mp_priv;

	p->destroys++;
}

/* Unmaps and frees the pages behind the net_iovs, once no pool has them. */
static void pp_test_niovs_free(void *arg)
{
	struct pp_test_niovs *p = arg;
	unsigned int i;

	for (i = 0; i < PP_TEST_NIOVS && p->pages[i]; i++) {
		if (!dma_mapping_error(p->dev, p->dma[i]))
			dma_unmap_page(p->dev, p->dma[i], PAGE_SIZE,
				       DMA_FROM_DEVICE);
		__free_page(p->pages[i]);
	}
}

static const struct memory_provider_ops pp_test_niov_ops = {
	.alloc_netmems = pp_test_niov_alloc,
	.release_netmem = pp_test_niov_release,
	.init = pp_test_niov_init,
	.destroy = pp_test_niov_destroy,
};

/* A provider's net_iov cannot get an item: the allocation gives no netmem,
 * asks for one block, leaves the net_iov with the provider and counts
 * nothing in the pool. Once items can be had, the same net_iov goes out,
 * and destroy gives every net_iov back.
 */
static void pp_test_provider_item_fails(struct kunit *test)
{
	struct pp_test *t = test->priv;
	struct page_pool_params pp = {
		.flags = PP_FLAG_ALLOW_UNREADABLE_NETMEM | PP_FLAG_DMA_MAP |
			 PP_FLAG_DMA_SYNC_DEV,
		.pool_size = 64,
		.nid = NUMA_NO_NODE,
		.dev = t->dev,
		.dma_dir = DMA_FROM_DEVICE,
		.max_len = PAGE_SIZE,
	};
	struct netdev_rx_queue *rxq;
	struct pp_test_niovs *p;
	struct page_pool *pool;
	netmem_ref netmem;
	unsigned int i;

	if (IS_MODULE(CONFIG_PAGE_POOL_KUNIT_TEST))
		kunit_skip(test, "a module's memory provider ops are refused");

	p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test, pp_test_niovs_free, p),
			0);
	p->dev = t->dev;
	p->area.niovs = p->niovs;
	p->area.num_niovs = PP_TEST_NIOVS;
	for (i = 0; i < PP_TEST_NIOVS; i++) {
		p->pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p->pages[i]);
		p->dma[i] = dma_map_page(t->dev, p->pages[i], 0, PAGE_SIZE,
					 DMA_FROM_DEVICE);
		KUNIT_ASSERT_FALSE(test, dma_mapping_error(t->dev, p->dma[i]));
		net_iov_init(&p->niovs[i], &p->area, NET_IOV_DMABUF);
		/* It returns true when the address does not fit. */
		KUNIT_ASSERT_FALSE(test, net_mp_niov_set_dma_addr(&p->niovs[i],
								  p->dma[i]));
		p->free[p->nr_free++] = &p->niovs[i];
	}
	pp.netdev = pp_test_alloc_netdev(test);
	rxq = __netif_get_rx_queue(pp.netdev, 0);
	rxq->mp_params.mp_ops = &pp_test_niov_ops;
	rxq->mp_params.mp_priv = p;

	netdev_lock(pp.netdev);
	pool = page_pool_create(&pp);
	netdev_unlock(pp.netdev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);

	kunit_activate_static_stub(test, page_pool_item_block_alloc,
				   pp_test_no_item_block);
	netmem = page_pool_alloc_netmems(pool, GFP_KERNEL);
	kunit_deactivate_static_stub(test, page_pool_item_block_alloc);
	KUNIT_EXPECT_TRUE_MSG(test, !netmem,
			      "a netmem without an item was handed out");
	KUNIT_EXPECT_EQ(test, t->block_allocs, 1);
	KUNIT_EXPECT_EQ(test, p->failed, 1);
	KUNIT_EXPECT_EQ_MSG(test, p->nr_free, PP_TEST_NIOVS,
			    "the provider lost the net_iov the pool refused");
	KUNIT_EXPECT_EQ(test, pool->pages_state_hold_cnt, 0);

	netmem = page_pool_alloc_netmems(pool, GFP_KERNEL);
	KUNIT_EXPECT_TRUE_MSG(test, netmem,
			      "no netmem once items could be had");
	if (netmem) {
		KUNIT_EXPECT_PTR_EQ(test, netmem_get_pp(netmem), pool);
		page_pool_put_full_netmem(pool, netmem, false);
	}

	netdev_lock(pp.netdev);
	page_pool_destroy(pool);
	netdev_unlock(pp.netdev);
	KUNIT_EXPECT_EQ_MSG(test, p->nr_free, PP_TEST_NIOVS,
			    "net_iovs not given back to the provider by destroy");
	KUNIT_EXPECT_EQ(test, p->destroys, 1);
}

/* A page leaving its pool in the context that allocates from the pool (here
 * a per-CPU pool on its CPU, with bottom halves off) gives its item straight
 * back to the allocation side's free_items, with no atomic operation; in any
 * other context, on release_items.
 */
static void pp_test_release_in_own_context(struct kunit *test)
{
	struct page_pool_params pp = {
		.pool_size = 64,
		.nid = NUMA_NO_NODE,
	};
	struct llist_node *own_free = NULL, *own_released = NULL;
	struct page_pool_item *item = NULL, *other = NULL;
	struct page *page;
	struct page_pool *pool;

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "PREEMPT_RT never recycles directly");

	migrate_disable();
	pool = page_pool_create_percpu(&pp, smp_processor_id());
	if (IS_ERR(pool)) {
		migrate_enable();
		KUNIT_FAIL_AND_ABORT(test, "no pool: %pe", pool);
	}

	local_bh_disable();
	page = page_pool_dev_alloc_pages(pool);
	if (page) {
		item = netmem_to_nmdesc(page_to_netmem(page))->pp_item;
		pp_test_release_page(pool, page);
		own_free = pool->free_items;
		own_released = pool->release_items.first;
	}
	local_bh_enable();

	page = page_pool_dev_alloc_pages(pool);
	if (page) {
		other = netmem_to_nmdesc(page_to_netmem(page))->pp_item;
		pp_test_release_page(pool, page);
	}
	migrate_enable();

	KUNIT_EXPECT_NOT_NULL(test, item);
	KUNIT_EXPECT_PTR_EQ_MSG(test, own_free, item ? &item->lentry : NULL,
				"the item is not first on free_items");
	KUNIT_EXPECT_NULL_MSG(test, own_released,
			      "an item went on release_items in the pool's own context");
	KUNIT_EXPECT_NOT_NULL(test, other);
	KUNIT_EXPECT_PTR_EQ_MSG(test, pool->release_items.first,
				other ? &other->lentry : NULL,
				"an item given back from another context is not on release_items");
	page_pool_destroy(pool);
}

static struct kunit_case pp_test_cases[] = {
	KUNIT_CASE(pp_test_destroy_waits_for_unmap),
	KUNIT_CASE(pp_test_destroy_warns_on_held_unmap),
	KUNIT_CASE(pp_test_destroy_unmaps_inflight),
	KUNIT_CASE_ATTR(pp_test_destroy_unmaps_many_inflight,
			{ .speed = KUNIT_SPEED_VERY_SLOW }),
	KUNIT_CASE(pp_test_destroy_races_releases),
	KUNIT_CASE_PARAM(pp_test_item_alloc_fails, pp_test_order_gen_params),
	KUNIT_CASE_PARAM(pp_test_items_follow_peak,
			 pp_test_ring_size_gen_params),
	KUNIT_CASE_PARAM(pp_test_create_bad_params,
			 pp_test_bad_params_gen_params),
	KUNIT_CASE_PARAM(pp_test_create_ring_size,
			 pp_test_pool_size_gen_params),
	KUNIT_CASE(pp_test_provider_item_fails),
	KUNIT_CASE(pp_test_release_in_own_context),
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
