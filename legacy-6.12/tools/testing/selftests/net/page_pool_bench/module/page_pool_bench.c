// SPDX-License-Identifier: GPL-2.0
/*
 * page_pool benchmark: the cost per element of the driver API's recycling
 * paths, with and without DMA mapping, of recycling through skb free on the
 * pool's CPU and from another CPU, and the wall time of page_pool_destroy()
 * with pages in flight.
 *
 * Everything runs when the module loads. Each test prints one line:
 *
 *   page_pool_bench: test=NAME dma=0|1 n=ELEMENTS ns=NS_PER_ELEMENT cycles=C
 *
 * where cycles come from get_cycles() (0 where it has no counter). The
 * destroy tests time one page_pool_destroy() call (n=1) with pages=N out:
 * "destroy" as a module or a workqueue calls it, "destroy_rtnl" under RTNL,
 * as drivers call it from ndo_stop or queue reconfiguration.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/ptr_ring.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/timex.h>
#include <net/page_pool/helpers.h>

static unsigned int loops = 200000;
module_param(loops, uint, 0444);
MODULE_PARM_DESC(loops, "elements per recycling test (default 200000)");

static unsigned long destroy_pages[4] = { 1024, 65536, 1048576 };
static int nr_destroy = 3;
module_param_array(destroy_pages, ulong, &nr_destroy, 0444);
MODULE_PARM_DESC(destroy_pages,
		 "pages in flight for each destroy test (default 1024,65536,1048576)");

/* Bottom halves are enabled again every so many elements. */
#define BENCH_CHUNK	256
#define BENCH_POOL_SIZE	1024

static struct platform_device *bench_pdev;

struct bench_clock {
	u64 ns;
	cycles_t cycles;
};

static void bench_start(struct bench_clock *c)
{
	c->cycles = get_cycles();
	c->ns = ktime_get_ns();
}

static void bench_stop(struct bench_clock *c)
{
	c->ns = ktime_get_ns() - c->ns;
	c->cycles = get_cycles() - c->cycles;
}

static void bench_report(const char *name, bool dma, u64 n,
			 const struct bench_clock *c, const char *extra)
{
	u32 frac;
	u64 ns = div_u64_rem(div64_u64(c->ns * 1000, n), 1000, &frac);

	/* div_u64_rem(): no 64-bit division on 32-bit */
	pr_info("test=%s dma=%d n=%llu ns=%llu.%03u cycles=%llu%s\n", name,
		dma, n, ns, frac, div64_u64(c->cycles, n), extra);
}

static struct page_pool *bench_pool(bool dma, int cpuid)
{
	struct page_pool_params pp = {
		.order = 0,
		.pool_size = BENCH_POOL_SIZE,
		.nid = NUMA_NO_NODE,
		.dev = &bench_pdev->dev,
		.dma_dir = DMA_FROM_DEVICE,
		.max_len = PAGE_SIZE,
		.flags = dma ? PP_FLAG_DMA_MAP : 0,
	};

	return page_pool_create_percpu(&pp, cpuid);
}

enum bench_test {
	BENCH_FAST,		/* recycled into the alloc cache */
	BENCH_RING,		/* returned as if from another context: ptr_ring */
	BENCH_SLOW,		/* an extra reference: the page leaves the pool */
	BENCH_SKB_LOCAL,	/* skb freed on the pool's CPU */
	BENCH_SKB_REMOTE,	/* skb freed on another CPU */
};

/* A page_pool page as the head of an skb, marked for recycling. */
static struct sk_buff *bench_skb(struct page_pool *pool)
{
	struct sk_buff *skb;
	struct page *page;

	page = page_pool_alloc_pages(pool, GFP_ATOMIC | __GFP_NOWARN);
	if (!page)
		return NULL;
	skb = napi_build_skb(page_address(page), PAGE_SIZE);
	if (!skb) {
		page_pool_put_full_page(pool, page, false);
		return NULL;
	}
	skb_mark_for_recycle(skb);
	return skb;
}

/*
 * One element of test @t. Inlined into bench_run() with @t a constant, so
 * that each test's loop is only its own work.
 *
 * An skb freed with napi_consume_skb() on the pool's CPU goes through
 * napi_pp_put_page(), which finds the pool from the page and, in softirq
 * context on the CPU the pool belongs to, recycles into the alloc cache.
 * An skb handed to @remote is freed by a kthread on another CPU; its page
 * comes back through the ptr_ring.
 */
static __always_inline int bench_one(struct page_pool *pool,
				     enum bench_test t, struct ptr_ring *remote)
{
	struct sk_buff *skb;
	struct page *page;

	if (t == BENCH_SKB_LOCAL || t == BENCH_SKB_REMOTE) {
		skb = bench_skb(pool);
		if (!skb)
			return -ENOMEM;
		if (t == BENCH_SKB_LOCAL)
			napi_consume_skb(skb, 1);
		else
			while (ptr_ring_produce(remote, skb))
				cpu_relax();
		return 0;
	}

	page = page_pool_alloc_pages(pool, GFP_ATOMIC | __GFP_NOWARN);
	if (!page)
		return -ENOMEM;
	if (t == BENCH_FAST) {
		page_pool_recycle_direct(pool, page);
	} else if (t == BENCH_RING) {
		page_pool_put_full_page(pool, page, false);
	} else {
		get_page(page);
		page_pool_put_full_page(pool, page, false);
		put_page(page);
	}
	return 0;
}

/*
 * @loops elements of test @t in bottom-half disabled context, as under NAPI,
 * enabling bottom halves again every BENCH_CHUNK elements. Returns how many
 * elements succeeded; *@err is set if one failed.
 */
static __always_inline unsigned int bench_run(struct page_pool *pool,
					      enum bench_test t,
					      struct ptr_ring *remote,
					      int *err)
{
	unsigned int done = 0, i, n;

	*err = 0;
	while (done < loops && !*err) {
		n = min_t(unsigned int, loops - done, BENCH_CHUNK);
		local_bh_disable();
		for (i = 0; i < n; i++) {
			*err = bench_one(pool, t, remote);
			if (*err)
				break;
		}
		local_bh_enable();
		done += i;
	}
	return done;
}

struct bench_remote {
	struct ptr_ring ring;
	unsigned int freed;
};

static int bench_remote_free(void *arg)
{
	struct bench_remote *r = arg;
	struct sk_buff *skb;

	while (!kthread_should_stop()) {
		skb = ptr_ring_consume(&r->ring);
		if (!skb) {
			cond_resched();
			continue;
		}
		consume_skb(skb);
		WRITE_ONCE(r->freed, r->freed + 1);
	}
	return 0;
}

/* Start the kthread that frees @r's skbs on a CPU other than @cpu. */
static struct task_struct *bench_remote_start(struct bench_remote *r, int cpu)
{
	struct task_struct *consumer;
	int other, err;

	other = cpumask_any_but(cpu_online_mask, cpu);
	if (other >= nr_cpu_ids)
		return NULL;
	err = ptr_ring_init(&r->ring, BENCH_POOL_SIZE / 2, GFP_KERNEL);
	if (err)
		return ERR_PTR(err);
	consumer = kthread_create(bench_remote_free, r, "pp_bench/%d", other);
	if (IS_ERR(consumer)) {
		ptr_ring_cleanup(&r->ring, NULL);
		return consumer;
	}
	kthread_bind(consumer, other);
	wake_up_process(consumer);
	return consumer;
}

/*
 * Time test @t on a pool of its own. The skb tests' pool belongs to this
 * CPU, so that frees here count as local; for the remote test the time
 * covers both CPUs working in parallel, until the last skb is freed.
 */
static __always_inline int bench_test(const char *name, enum bench_test t,
				      bool dma)
{
	bool skb = t == BENCH_SKB_LOCAL || t == BENCH_SKB_REMOTE;
	struct task_struct *consumer = NULL;
	struct bench_remote r = {};
	struct page_pool *pool;
	struct bench_clock c;
	unsigned int done;
	int err;

	migrate_disable();
	if (t == BENCH_SKB_REMOTE) {
		consumer = bench_remote_start(&r, smp_processor_id());
		err = PTR_ERR_OR_ZERO(consumer);
		if (!consumer)
			pr_info("test=%s dma=%d skipped: one CPU online\n",
				name, dma);
		if (IS_ERR_OR_NULL(consumer))
			goto out;
	}
	pool = bench_pool(dma, skb ? smp_processor_id() : -1);
	err = PTR_ERR_OR_ZERO(pool);
	if (err)
		goto stop;

	bench_start(&c);
	done = bench_run(pool, t, &r.ring, &err);
	if (consumer)
		while (READ_ONCE(r.freed) < done)
			cpu_relax();
	bench_stop(&c);

	if (!err)
		bench_report(name, dma, loops, &c, "");
stop:
	if (consumer) {
		kthread_stop(consumer);
		ptr_ring_cleanup(&r.ring, NULL);
	}
	if (!IS_ERR(pool))
		page_pool_destroy(pool);
out:
	migrate_enable();
	return err;
}

/*
 * page_pool_destroy() with @n pages in flight, under RTNL if @rtnl, then the
 * pages come back.
 */
static int bench_destroy(unsigned long n, bool rtnl)
{
	const char *name = rtnl ? "destroy_rtnl" : "destroy";
	struct bench_clock c;
	struct page_pool *pool;
	struct page **pages;
	char extra[32];
	unsigned long i;
	int err = 0;

	if (n > totalram_pages() / 2) {
		pr_info("test=%s dma=1 pages=%lu skipped: %lu pages of RAM\n",
			name, n, totalram_pages());
		return 0;
	}
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	pool = bench_pool(true, -1);
	if (IS_ERR(pool)) {
		err = PTR_ERR(pool);
		goto free;
	}
	for (i = 0; i < n; i++) {
		pages[i] = page_pool_alloc_pages(pool, GFP_KERNEL | __GFP_NOWARN);
		if (!pages[i]) {
			err = -ENOMEM;
			break;
		}
		cond_resched();
	}

	if (rtnl)
		rtnl_lock();
	bench_start(&c);
	page_pool_destroy(pool);
	bench_stop(&c);
	if (rtnl)
		rtnl_unlock();

	/* The pool lives on until the last page is back. */
	while (i--) {
		page_pool_put_full_page(pool, pages[i], false);
		cond_resched();
	}
	if (!err) {
		snprintf(extra, sizeof(extra), " pages=%lu", n);
		bench_report(name, true, 1, &c, extra);
	}
free:
	kvfree(pages);
	return err;
}

static int __init page_pool_bench_init(void)
{
	int i, err;

	if (!loops)
		return -EINVAL;
	bench_pdev = platform_device_register_simple(KBUILD_MODNAME, -1,
						     NULL, 0);
	if (IS_ERR(bench_pdev))
		return PTR_ERR(bench_pdev);
	err = dma_coerce_mask_and_coherent(&bench_pdev->dev, DMA_BIT_MASK(64));

	/* Each call names its test as a constant: see bench_one(). */
	err = err ?: bench_test("fast", BENCH_FAST, false);
	err = err ?: bench_test("fast", BENCH_FAST, true);
	err = err ?: bench_test("ptr_ring", BENCH_RING, false);
	err = err ?: bench_test("ptr_ring", BENCH_RING, true);
	err = err ?: bench_test("slow", BENCH_SLOW, false);
	err = err ?: bench_test("slow", BENCH_SLOW, true);
	err = err ?: bench_test("skb_free_local", BENCH_SKB_LOCAL, true);
	err = err ?: bench_test("skb_free_remote", BENCH_SKB_REMOTE, true);
	for (i = 0; i < nr_destroy && !err; i++) {
		err = bench_destroy(destroy_pages[i], false);
		err = err ?: bench_destroy(destroy_pages[i], true);
	}
	if (err)
		pr_err("failed: %d\n", err);

	platform_device_unregister(bench_pdev);
	return err;
}

static void __exit page_pool_bench_exit(void)
{
}

module_init(page_pool_bench_init);
module_exit(page_pool_bench_exit);
MODULE_DESCRIPTION("page_pool recycling and destroy benchmark");
MODULE_LICENSE("GPL");
