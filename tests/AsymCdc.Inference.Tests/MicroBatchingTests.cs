namespace AsymCdc.Inference.Tests;

public sealed class MicroBatchingTests
{
    private const int Length = 784;

    [Fact]
    public async Task Concurrent_calls_are_coalesced_and_each_caller_gets_its_own_result()
    {
        const int calls = 64;
        var expected = await UnbatchedAsync(0, calls);

        // A window far longer than the test: batches close only when full, so 64 calls make 4 runs of 16.
        var options = TestModels.Options(ModelNames.Classifier);
        options.MaxBatchSize = 16;
        options.BatchWindowMicroseconds = 1_000_000;
        options.Instances = 1; // one runner: how calls coalesce is then exact
        using var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Classifier);

        var pending = new Task<float[][]>[calls];
        for (var c = 0; c < calls; c++)
        {
            pending[c] = function.RunAsync(TestModels.Images.Image(c), 1).AsTask();
        }

        var results = await Task.WhenAll(pending);

        for (var c = 0; c < calls; c++)
        {
            AssertClose(expected[c][0], results[c][0]);
            AssertClose(expected[c][1], results[c][1]);
        }

        var stats = function.Stats;
        Assert.Equal(calls, stats.Calls);
        Assert.Equal(calls, stats.Items);
        Assert.Equal(calls / 16, stats.Runs);
        Assert.Equal(16, stats.LargestBatch);
        Assert.Equal(16, stats.MeanBatchSize);
        Assert.Equal(0, stats.QueueLength);
        Assert.True(stats.TotalQueueDelay > TimeSpan.Zero);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // each runner on a thread of its own, as on a GPU
    public async Task Several_runners_share_one_queue_and_each_caller_gets_its_own_result(bool dedicatedThreads)
    {
        const int calls = 96;
        var expected = await UnbatchedAsync(0, calls);
        var options = TestModels.Options(ModelNames.Classifier);
        options.DedicatedThreads = dedicatedThreads;
        options.Instances = 3;
        options.MaxBatchSize = 8;
        using var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Classifier);
        var runsBefore = function.Stats.Runs;

        // From many threads at once, so that the runners take batches off the queue concurrently.
        var results = await Task.WhenAll(Enumerable.Range(0, calls).Select(c => Task.Run(() => function.RunAsync(TestModels.Images.Image(c), 1).AsTask())));

        for (var c = 0; c < calls; c++)
        {
            AssertClose(expected[c][0], results[c][0]);
            AssertClose(expected[c][1], results[c][1]);
        }

        var stats = function.Stats;
        Assert.Equal(calls, stats.Items);
        Assert.InRange(stats.Runs - runsBefore, calls / 8, calls);
        Assert.InRange(stats.LargestBatch, 1, 8);
        Assert.Equal(0, stats.QueueLength);
    }

    [Fact]
    public async Task A_decoder_runs_each_call_at_once_on_the_callers_thread_whatever_the_window()
    {
        // A window far longer than the test: a classifier would hold its first call for it; a decoder must not.
        var options = TestModels.Options(ModelNames.Compact(2));
        options.BatchWindowMicroseconds = 1_000_000;
        using var repository = ModelRepository.Open(options);
        var decoder = repository.GetFunction(ModelNames.Compact(2));
        var inputs = Enumerable.Range(0, 8).Select(i => Enumerable.Range(0, decoder.InputLength).Select(j => (float)Math.Sin(i + (0.01 * j))).ToArray()).ToArray();
        var runsBefore = decoder.Stats.Runs;

        var first = decoder.RunAsync(inputs[0], 1);
        Assert.True(first.IsCompletedSuccessfully, "the decoder's call waited for company or for a runner thread");
        var concurrent = await Task.WhenAll(inputs.Select(input => Task.Run(async () => (await decoder.RunAsync(input, 1))[0])));

        var stats = decoder.Stats;
        Assert.Equal(1 + inputs.Length, stats.Runs - runsBefore); // one run per call: nothing waited to be batched
        Assert.Equal(1, stats.LargestBatch);
        Assert.Equal(0, stats.QueueLength);
        AssertClose((await first)[0], concurrent[0]); // the same input gives the same logits on any thread
        Assert.NotEqual(concurrent[0], concurrent[1]);
    }

    [Fact]
    public async Task Calls_of_several_items_are_batched_whole_and_split_back()
    {
        // Calls of 1, 2, 3, 4 and 6 items: 16 in all, one run at MaxBatchSize 16.
        int[] counts = [1, 2, 3, 4, 6];
        var options = TestModels.Options(ModelNames.Classifier);
        options.MaxBatchSize = 16;
        options.BatchWindowMicroseconds = 1_000_000;
        options.Instances = 1; // one runner: how calls coalesce is then exact
        using var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Classifier);
        var expected = await UnbatchedAsync(0, 16);

        var pending = new List<Task<float[][]>>();
        var start = 0;
        foreach (var count in counts)
        {
            pending.Add(function.RunAsync(TestModels.Images.Slice(start, count), count).AsTask());
            start += count;
        }

        var results = await Task.WhenAll(pending);

        start = 0;
        for (var c = 0; c < counts.Length; c++)
        {
            Assert.Equal(counts[c] * 10, results[c][0].Length);
            Assert.Equal(counts[c] * Length, results[c][1].Length);
            for (var i = 0; i < counts[c]; i++)
            {
                AssertClose(expected[start + i][0], results[c][0].AsSpan(i * 10, 10).ToArray());
            }

            start += counts[c];
        }

        Assert.Equal(1, function.Stats.Runs);
        Assert.Equal(16, function.Stats.LargestBatch);
    }

    [Theory]
    [InlineData(1, 2, 2)] // a parity runner: the data batch of two, the parity query in a run of its own
    [InlineData(0, 1, 3)] // none: the parity query queues with the data queries and joins their batch
    public async Task A_parity_query_keeps_out_of_the_data_batch_where_the_session_has_parity_runners(int parityRunners, int runs, int largest)
    {
        // A window far longer than the test, one data runner: the two data calls always share one batch.
        var options = TestModels.Options(ModelNames.Classifier);
        options.BatchWindowMicroseconds = 1_000_000;
        options.Instances = 1;
        options.ParityInstances = parityRunners;
        using var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Classifier);
        var expected = await UnbatchedAsync(0, 3);
        var runsBefore = function.Stats.Runs;

        var data = new[] { function.RunAsync(TestModels.Images.Image(0), 1).AsTask(), function.RunAsync(TestModels.Images.Image(1), 1).AsTask() };
        var parity = function.RunParityAsync(TestModels.Images.Image(2), 1).AsTask();
        var results = await Task.WhenAll([.. data, parity]);

        for (var c = 0; c < 3; c++)
        {
            AssertClose(expected[c][0], results[c][0]);
            AssertClose(expected[c][1], results[c][1]);
        }

        var stats = function.Stats;
        Assert.Equal(runs, stats.Runs - runsBefore);
        Assert.Equal(largest, stats.LargestBatch);
        Assert.Equal(0, stats.QueueLength);
        Assert.Equal(parityRunners > 0 ? 1 : 0, stats.ParityCalls);
    }

    [Fact]
    public async Task A_parity_model_has_no_parity_queue_every_call_to_it_is_a_parity_query()
    {
        // ParM's parity model answers only parity queries: they keep all its runners and batch together.
        var options = TestModels.Options(ModelNames.Parm(2));
        options.BatchWindowMicroseconds = 1_000_000;
        options.Instances = 1;
        options.ParityInstances = 1;
        using var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Parm(2));
        var runsBefore = function.Stats.Runs;

        await Task.WhenAll(function.RunAsync(TestModels.Images.Image(0), 1).AsTask(), function.RunParityAsync(TestModels.Images.Image(1), 1).AsTask());

        Assert.Equal(1, function.Stats.Runs - runsBefore);
        Assert.Equal(2, function.Stats.LargestBatch);
        Assert.Equal(0, function.Stats.ParityCalls);
    }

    [Fact]
    public async Task A_call_larger_than_the_coalescing_limit_runs_whole_in_one_run()
    {
        var options = TestModels.Options(ModelNames.Classifier);
        options.MaxBatchSize = 4;
        options.BatchWindowMicroseconds = 0;
        using var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Classifier);

        var result = await function.RunAsync(TestModels.Images.Slice(0, 10), 10);

        var expected = await UnbatchedAsync(0, 10);
        for (var i = 0; i < 10; i++)
        {
            AssertClose(expected[i][0], result[0].AsSpan(i * 10, 10).ToArray());
        }

        Assert.Equal(1, function.Stats.Runs);
        Assert.Equal(10, function.Stats.LargestBatch);
    }

    [Fact]
    public async Task A_call_cancelled_while_queued_is_answered_at_once_and_left_out_of_the_run()
    {
        var options = TestModels.Options(ModelNames.Classifier);
        options.MaxBatchSize = 8;
        options.BatchWindowMicroseconds = 1_000_000;
        var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Classifier);
        var expected = await UnbatchedAsync(1, 1);

        using var cts = new CancellationTokenSource();
        var cancelled = function.RunAsync(TestModels.Images.Image(0), 1, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        var served = function.RunAsync(TestModels.Images.Image(1), 1).AsTask();
        repository.Dispose(); // closes the window: what is queued runs now
        AssertClose(expected[0][0], (await served)[0]);

        var stats = function.Stats;
        Assert.Equal(1, stats.Runs);
        Assert.Equal(1, stats.Items);
        Assert.Equal(1, stats.Cancelled);
    }

    [Fact]
    public async Task An_already_cancelled_call_never_runs()
    {
        using var repository = ModelRepository.Open(TestModels.Options(ModelNames.Classifier));
        var function = repository.GetFunction(ModelNames.Classifier);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => function.RunAsync(TestModels.Images.Image(0), 1, new CancellationToken(canceled: true)).AsTask());

        Assert.Equal(0, function.Stats.Runs);
    }

    [Fact]
    public async Task A_zero_window_serves_a_lone_call()
    {
        var options = TestModels.Options(ModelNames.Classifier);
        options.BatchWindowMicroseconds = 0;
        using var repository = ModelRepository.Open(options);

        var result = await repository.Get(ModelNames.Classifier).RunAsync(TestModels.Images.Image(2), 1);

        AssertClose((await UnbatchedAsync(2, 1))[0][0], result[0]);
    }

    /// <summary>Each image run alone (MaxBatchSize 1): the reference a batched run must reproduce.</summary>
    private static async Task<float[][][]> UnbatchedAsync(int start, int count)
    {
        var options = TestModels.Options(ModelNames.Classifier);
        options.MaxBatchSize = 1;
        using var repository = ModelRepository.Open(options);
        var function = repository.GetFunction(ModelNames.Classifier);
        var results = new float[count][][];
        for (var i = 0; i < count; i++)
        {
            results[i] = await function.RunAsync(TestModels.Images.Image(start + i), 1);
        }

        Assert.Equal(count, function.Stats.Runs);
        return results;
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            // Batched kernels may sum in another order than single-item ones: equal up to float rounding.
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
