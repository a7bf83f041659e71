# The test kernels of one base: the x86_64 debug kernel running the KUnit
# suites and selftests in QEMU (where the base has it, BASE_VM), and the
# series' suites through kunit.py on each of BASE_KUNIT_ARCHS.
# Sourced by run-base.sh after the series is applied.
# shellcheck shell=bash

# These run as stages (lib.sh), in this shell: they return, never exit.
# vm_inputs KERNEL: what a VM run's verdicts depend on: the kernel, the tree
# (its selftests), the guest's scripts and their reading, QEMU.
vm_inputs() {
	{
		sha256sum <"$1"; git -C "$TREE" rev-parse HEAD^{tree}; git -C "$TREE" diff HEAD
		cat "$BASE_SELFTESTS" "$HARNESS/vm.sh" "$HARNESS/guest/init.sh" "$HARNESS/lib.sh" \
			"$HARNESS/console.py" "$HARNESS/testvm.sh"
		qemu-system-x86_64 --version | head -n 1; clang --version | head -n 1
	} | sha256sum | cut -c1-24
}

# kunit_on_test_kernel KERNEL: the series' suites on the debug kernel, booted
# by kunit.py exec; its console in build/kunit-x86_64.log.
kunit_on_test_kernel() {
	local key log=$BUILD/kunit-x86_64.log
	key=$(vm_inputs "$1")
	if kept_get kunit-x86_64 "$key" "$log"; then
		say "kunit.py exec on x86_64: output of an earlier run of this kernel reused"
		return 0
	fi
	kunit_exec "$TREE" "$BUILD/kbuild-test-x86_64" "$log" "kunit.py x86_64" >/dev/null || true
	if ! grep -q "KTAP version" "$log"; then
		tail -n 30 "$log"
		say "ERROR: kunit.py exec on x86_64 ran no test"
		return 1
	fi
	kept_put kunit-x86_64 "$key" "$log"
}

# selftest_bpf: the BPF programs the drivers/net selftests load
# (net/lib/*.bpf.o), built by the tree's own rules (net/bpf.mk: clang, the
# tree's libbpf, its uAPI headers) under build/, then put next to their
# sources, where the tests look for them: the guest sees the tree read-only.
selftest_bpf() {
	local out=$BUILD/selftests-net-lib lib=$TREE/tools/testing/selftests/net/lib o objs=()
	make -s -C "$TREE" O="$BUILD/kbuild-test-x86_64" headers || return 1
	for o in "$lib"/*.bpf.c; do objs+=("$out/$(basename "${o%.c}").o"); done
	mkdir -p "$out"
	make -s -C "$lib" OUTPUT="$out" CCINCLUDE="-I$TREE/tools/testing/selftests/bpf \
		-I$BUILD/kbuild-test-x86_64/usr/include -I$out/tools/include" "${objs[@]}" || return 1
	cp "${objs[@]}" "$lib/"
}

# bench_modules: upstream's page_pool benchmark module (net/bench), which
# the series extends, built with W=1 against the test kernel at each commit
# of the series that changes it (from that commit's files, under build/)
# and at the tested head in its own folder, where test_bench_page_pool.sh
# loads it from in the VM. A warning fails; a verdict is kept per commit
# and kernel.
BENCH_MOD=tools/testing/selftests/net/bench/page_pool
bench_modules() {
	local kdir=$BUILD/kbuild-test-x86_64 c out key name rc=0
	key=$(sha256sum <"$kdir/Module.symvers" | cut -c1-16)
	mkdir -p "$BUILD/bench-modules"
	for c in $(git -C "$TREE" rev-list --reverse "$BASE_TAG..$TEST_BRANCH" -- "$BENCH_MOD"); do
		out=$BUILD/bench-modules/$c
		name="bench module builds with W=1, no warning, at: $(git -C "$TREE" log -1 --format=%s "$c")"
		if [ "$(cat "$out/verdict-$key" 2>/dev/null)" = ok ]; then
			echo "PASS $name"
			continue
		fi
		rm -rf "$out"
		mkdir -p "$out"
		git -C "$TREE" archive "$c:$BENCH_MOD" | tar -x -C "$out"
		if module_build "$out" "$kdir" "$out/build.log" W=1 2>&1 && [ -f "$out/bench_page_pool.ko" ]; then
			echo ok >"$out/verdict-$key"
			echo "PASS $name"
		else
			echo "FAIL $name"
			rc=1
		fi
	done
	module_build "$TREE/$BENCH_MOD" "$kdir" "$BUILD/bench-modules/head.log" || return 1
	return $rc
}

# vm_on_test_kernel KERNEL SELFTEST...: vm.sh, its outputs kept for a rerun.
vm_on_test_kernel() {
	local key kernel=$1
	key=$(vm_inputs "$kernel")
	if kept_get vm-x86_64 "$key" "$BUILD/vm/x86_64"; then
		say "vm x86_64: the guest's output of an earlier run of this kernel and tree reused"
		return 0
	fi
	vm_selftests x86_64 "$@" || return 1	# lib.sh
	kept_put vm-x86_64 "$key" "$BUILD/vm/x86_64"
}

if [ "$BASE_VM" = 1 ]; then
	read_selftests	# lib.sh

	kernel=$BUILD/kbuild-test-x86_64/arch/x86/boot/bzImage
	if stage build-test-kernel "$HARNESS/build.sh" test-x86_64; then
		if [ "$BASE_KUNIT_VM_KERNEL" = 1 ]; then
			if stage kunit-x86_64 kunit_on_test_kernel "$kernel"; then
				check results-kunit-x86_64 python3 "$HARNESS/console.py" "$TREE" \
					"$BUILD/kunit-x86_64.log" --name "kunit.py x86_64"
				sed -n 's/^\(PASS\|FAIL\|SKIP\) /  \1 /p' "$LOGS/results-kunit-x86_64.log" >&2
			else
				result FAIL "kunit.py x86_64: the suites ran"
			fi
		fi
		if [ -d "$TREE/$BENCH_MOD" ]; then
			check bench-modules bench_modules
		fi
		if ! stage selftest-bpf selftest_bpf; then
			result FAIL "the selftests' BPF programs build"
		elif stage vm-x86_64 vm_on_test_kernel "$kernel" "${SELFTESTS[@]}"; then
			# The VM has what each listed test needs: a skip fails.
			vmread=(--guest-dir "$BUILD/vm/x86_64/guest" --skips-fail)
			# Its suites ran through kunit.py exec, not in this boot.
			[ "$BASE_KUNIT_VM_KERNEL" = 1 ] && vmread+=(--no-kunit)
			check results-x86_64 python3 "$HARNESS/console.py" "$TREE" "$BUILD/vm/x86_64/console.log" \
				--name "vm x86_64" "${vmread[@]}"
			sed -n 's/^\(PASS\|FAIL\|SKIP\) /  \1 /p' "$LOGS/results-x86_64.log" >&2
		else
			result FAIL "vm x86_64: the guest ran to the end"
		fi
	else
		result FAIL "test kernel builds (test-x86_64)"
	fi
fi

# The suites through kunit.py, as kernel developers run them, on kernels it
# builds: UML (which has DMA emulation, and where the base tracks nothing),
# 32-bit i386 and, on 6.12, x86_64 (7.3: on the debug kernel, above).
for arch in $BASE_KUNIT_ARCHS; do
	allow=()
	# UML without a virtio PCI device given WARNs once in um_pci_init().
	[ "$arch" = um ] && allow=(--allow 'at (\S*/)?arch/um/drivers/virt-pci\.c:')
	if stage "kunit-$arch" "$HARNESS/kunit-arch.sh" "$arch"; then
		check "results-kunit-$arch" python3 "$HARNESS/console.py" "$TREE" "$BUILD/kunit-$arch.log" \
			--name "kunit.py $arch" "${allow[@]}"
		sed -n 's/^\(PASS\|FAIL\|SKIP\) /  \1 /p' "$LOGS/results-kunit-$arch.log" >&2
	else
		result FAIL "kunit.py $arch: the suites ran"
	fi
done
