using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AsymCdc.Coding.Tests;

[Properties(Arbitrary = [typeof(CodingArbitraries)])]
public sealed class DecoderTests
{
    private const int Length = 12;

    [Property]
    public Property Exact_decoder_recovers_the_stragglers_answer_through_a_nonlinear_model()
    {
        var gen = from k in Gen.Choose(1, 5)
                  from missing in Gen.Choose(0, k - 1)
                  from members in Gen.ArrayOf(Gen.Choose(0, 1000).Select(v => v / 1000f), k * Length)
                  select (k, missing, members);
        return Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var classifier = new ToyInvertibleClassifier(Length);
            var decoder = new ExactDecoder(classifier, new ToyInverse(Length));
            var request = MeanCodedRequest(classifier, t.members, t.k, t.missing);

            var decoded = decoder.DecodeAsync(request).AsTask().GetAwaiter().GetResult();

            var truth = classifier.Logits(t.members.AsSpan(t.missing * Length, Length));
            return EncoderTests.Close(decoded, truth, 1e-3f);
        });
    }

    [Fact]
    public async Task Exact_decoder_inverts_the_k_available_maps_in_one_call_and_runs_one_forward()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var inverse = new ToyInverse(Length);
        var decoder = new ExactDecoder(classifier, inverse);
        var members = Images(3, seed: 1);
        var request = MeanCodedRequest(classifier, members, 3, missing: 1);
        var callsBefore = classifier.Calls.Count; // MeanCodedRequest ran the workers' forward passes

        await decoder.DecodeAsync(request);

        Assert.Equal([3], inverse.Calls);
        Assert.Equal([1], classifier.Calls.Skip(callsBefore));
    }

    [Fact]
    public async Task Exact_decoder_batches_many_groups_into_one_inverse_and_one_forward()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var inverse = new ToyInverse(Length);
        var decoder = new ExactDecoder(classifier, inverse);
        var requests = new List<DecodeRequest>();
        var truths = new List<float[]>();
        for (var g = 0; g < 5; g++)
        {
            var k = g % 3 + 2;
            var members = Images(k, seed: 10 + g);
            requests.Add(MeanCodedRequest(classifier, members, k, missing: g % k));
            truths.Add(classifier.Logits(members.AsSpan(g % k * Length, Length)));
        }

        var callsBefore = classifier.Calls.Count;
        var decoded = await decoder.DecodeBatchAsync(requests);

        Assert.Equal([requests.Sum(r => r.K)], inverse.Calls);
        Assert.Equal([5], classifier.Calls.Skip(callsBefore));
        for (var r = 0; r < requests.Count; r++)
        {
            Assert.True(EncoderTests.Close(decoded[r], truths[r], 1e-3f), $"request {r}");
        }
    }

    [Fact]
    public async Task Compact_decoder_stacks_the_data_maps_in_group_order_then_the_paritys()
    {
        var compact = new EchoCompact(3, featureLength: 4, classes: 12);
        var decoder = new CompactDecoder(k => k == 3 ? compact : throw new KeyNotFoundException($"no compact model for k = {k}"));
        var request = new DecodeRequest(
            3,
            1,
            [Answer(12, [1, 1, 1, 1]), null, Answer(12, [3, 3, 3, 3])],
            Answer(12, [9, 9, 9, 9]));

        var decoded = await decoder.DecodeAsync(request);

        Assert.Equal([1], compact.Calls);
        Assert.Equal([1f, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9], compact.Inputs[0]);
        Assert.Equal(compact.Inputs[0], decoded);
    }

    [Fact]
    public async Task Compact_decoder_runs_one_call_per_group_size_in_a_mixed_batch()
    {
        var models = new Dictionary<int, EchoCompact> { [2] = new(2, Length), [3] = new(3, Length) };
        var lookups = 0;
        var decoder = new CompactDecoder(k =>
        {
            lookups++;
            return models[k];
        });
        var classifier = new ToyInvertibleClassifier(Length);
        DecodeRequest[] requests =
        [
            MeanCodedRequest(classifier, Images(2, 20), 2, 0),
            MeanCodedRequest(classifier, Images(3, 21), 3, 1),
            MeanCodedRequest(classifier, Images(2, 22), 2, 1),
        ];

        var decoded = await decoder.DecodeBatchAsync(requests);
        await decoder.DecodeBatchAsync(requests);

        Assert.Equal([2, 2], models[2].Calls);
        Assert.Equal([1, 1], models[3].Calls);
        Assert.Equal(2, lookups);
        // EchoCompact answers with the first floats of its input: the first available data z.
        Assert.Equal(requests[1].Data[0]!.Features!.Take(10), decoded[1]);
        Assert.Equal(requests[2].Data[0]!.Features!.Take(10), decoded[2]);
    }

    [Fact]
    public async Task Compact_decoder_returns_the_paritys_answer_for_a_group_of_one()
    {
        var lookups = 0;
        var decoder = new CompactDecoder(_ =>
        {
            lookups++;
            throw new KeyNotFoundException("no compact model");
        });
        var parity = Answer(10, features: new float[4]);

        var decoded = await decoder.DecodeAsync(new DecodeRequest(1, 0, [null], parity));

        Assert.Equal(parity.Logits, decoded);
        Assert.NotSame(parity.Logits, decoded);
        Assert.Equal(0, lookups);
    }

    [Fact]
    public async Task Compact_decoder_falls_back_when_no_model_exists_for_k()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var decoder = new CompactDecoder(k => throw new KeyNotFoundException($"no compact model for k = {k}"), new ExactDecoder(classifier, new ToyInverse(Length)));
        var members = Images(3, seed: 3);

        var decoded = await decoder.DecodeAsync(MeanCodedRequest(classifier, members, 3, missing: 2));

        Assert.True(EncoderTests.Close(decoded, classifier.Logits(members.AsSpan(2 * Length, Length)), 1e-3f));
    }

    [Fact]
    public async Task Compact_decoder_without_a_model_or_fallback_names_k()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var decoder = new CompactDecoder(k => throw new KeyNotFoundException($"fmnist-compact-k{k} is not in the repository"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await decoder.DecodeAsync(MeanCodedRequest(classifier, Images(3, 4), 3, 0)));

        Assert.Contains("k = 3", error.Message);
        Assert.Contains("fmnist-compact-k3 is not in the repository", error.Message);
        Assert.IsType<KeyNotFoundException>(error.InnerException);
    }

    [Fact]
    public async Task Compact_decoder_rejects_a_model_trained_for_another_width()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var decoder = new CompactDecoder(_ => new EchoCompact(2, Length));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await decoder.DecodeAsync(MeanCodedRequest(classifier, Images(3, 5), 3, 0)));

        Assert.Contains("trained for k = 3", error.Message);
    }

    [Fact]
    public async Task Parm_decoder_subtracts_the_available_answers_from_the_parity()
    {
        var request = new DecodeRequest(3, 0, [null, Answer([1, 2]), Answer([3, 4])], Answer([10, 10]));

        var decoded = await new ParmDecoder().DecodeAsync(request);

        Assert.Equal([6f, 4f], decoded);
    }

    [Property]
    public bool Parm_subtraction_inverts_summation(Group group, PositiveInt missingRaw)
    {
        // With a perfect parity model f_P(ΣX) = Σ f(X_i) (here f = identity), decoding is exact.
        var missing = missingRaw.Get % group.K;
        var sum = new float[group.Length];
        SumEncoder.Encode(group.Members, group.K, group.Length, sum);
        var data = new MemberAnswer?[group.K];
        for (var i = 0; i < group.K; i++)
        {
            data[i] = i == missing ? null : new MemberAnswer(group.Member(i).ToArray(), null);
        }

        var decoded = new ParmDecoder().DecodeAsync(new DecodeRequest(group.K, missing, data, new MemberAnswer(sum, null))).AsTask().GetAwaiter().GetResult();

        return EncoderTests.Close(decoded, group.Member(missing), 1e-3f);
    }

    [Fact]
    public async Task ApproxIfer_decoder_at_k_2_is_two_parities_minus_the_other()
    {
        var request = new DecodeRequest(2, 1, [Answer([1, 5]), null], Answer([2, 4]));

        var decoded = await new ApproxIferDecoder().DecodeAsync(request);

        Assert.Equal([3f, 3f], decoded);
    }

    [Property]
    public bool ApproxIfer_decoder_reproduces_constant_outputs(PositiveInt kRaw, PositiveInt missingRaw, float value)
    {
        var k = kRaw.Get % 8 + 1;
        var missing = missingRaw.Get % k;
        var data = new MemberAnswer?[k];
        for (var i = 0; i < k; i++)
        {
            data[i] = i == missing ? null : Answer([value, -value]);
        }

        var decoded = new ApproxIferDecoder().DecodeAsync(new DecodeRequest(k, missing, data, Answer([value, -value]))).AsTask().GetAwaiter().GetResult();

        return EncoderTests.Close(decoded, [value, -value], 1e-4f);
    }

    [Fact]
    public async Task Batched_and_single_decodes_agree_for_the_arithmetic_decoders()
    {
        var requests = new[]
        {
            new DecodeRequest(2, 0, [null, Answer([1, 2])], Answer([3, 5])),
            new DecodeRequest(3, 2, [Answer([1, 2]), Answer([0, 1]), null], Answer([3, 5])),
        };

        foreach (IBatchDecoder decoder in new IBatchDecoder[] { new ParmDecoder(), new ApproxIferDecoder() })
        {
            var batched = await decoder.DecodeBatchAsync(requests);
            for (var r = 0; r < requests.Length; r++)
            {
                Assert.Equal(await decoder.DecodeAsync(requests[r]), batched[r]);
            }
        }
    }

    public static TheoryData<DecodeRequest, string> BadRequests => new()
    {
        { new DecodeRequest(2, 2, [Answer([1, 2]), null], Answer([1, 2])), "MissingIndex = 2 is outside the group's members 0..1" },
        { new DecodeRequest(2, -1, [Answer([1, 2]), null], Answer([1, 2])), "MissingIndex = -1" },
        { new DecodeRequest(3, 0, [null, null, Answer([1, 2])], Answer([1, 2])), "member 1 is null but only member 0 may be missing" },
        { new DecodeRequest(2, 0, [Answer([1, 2]), Answer([1, 2])], Answer([1, 2])), "exactly one data answer" },
        { new DecodeRequest(3, 0, [null, Answer([1, 2])], Answer([1, 2])), "Data has 2 entries but K = 3" },
        { new DecodeRequest(0, 0, [], Answer([1, 2])), "K = 0" },
        { new DecodeRequest(2, 0, [null, Answer([1, 2, 3])], Answer([1, 2])), "member 1 has 3 logits, expected 2" },
        { new DecodeRequest(2, 0, [null, Answer([1, 2])], null!), "the parity answer is null" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Malformed_requests_are_rejected_with_the_problem_named(DecodeRequest request, string problem)
    {
        var classifier = new ToyInvertibleClassifier(Length, classes: 2);
        foreach (IDecoder decoder in new IDecoder[]
        {
            new ParmDecoder(),
            new ApproxIferDecoder(),
            new ExactDecoder(classifier, new ToyInverse(Length)),
            new CompactDecoder(k => new EchoCompact(k, Length, classes: 2)),
        })
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(async () => await decoder.DecodeAsync(request));
            Assert.Contains(problem, error.Message);
        }
    }

    [Fact]
    public async Task Exact_decoder_needs_every_workers_feature_map()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var decoder = new ExactDecoder(classifier, new ToyInverse(Length));
        var request = new DecodeRequest(2, 0, [null, Answer(10, new float[Length])], Answer(10, features: null));

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await decoder.DecodeAsync(request));

        Assert.Contains("the parity has no feature map", error.Message);
    }

    [Fact]
    public async Task Exact_decoder_checks_the_feature_length_against_the_inverse()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var decoder = new ExactDecoder(classifier, new ToyInverse(Length));
        var request = new DecodeRequest(2, 0, [null, Answer(10, new float[5])], Answer(10, new float[Length]));

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await decoder.DecodeAsync(request));

        Assert.Contains($"member 1 has a feature map of 5 floats, expected {Length}", error.Message);
    }

    [Fact]
    public void Exact_decoder_refuses_an_inverse_of_another_model()
    {
        var error = Assert.Throws<ArgumentException>(() => new ExactDecoder(new ToyInvertibleClassifier(Length), new ToyInverse(Length + 1)));

        Assert.Contains("pair the classifier with its own inverse", error.Message);
    }

    [Fact]
    public void Factory_builds_each_kind_and_names_a_missing_model()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var inverse = new ToyInverse(Length);

        Assert.IsType<ExactDecoder>(Decoders.Create(DecoderKind.Exact, classifier, inverse));
        Assert.IsType<CompactDecoder>(Decoders.Create(DecoderKind.Compact, compactForK: k => new EchoCompact(k, Length)));
        Assert.IsType<ParmDecoder>(Decoders.Create(DecoderKind.Parm));
        Assert.IsType<ApproxIferDecoder>(Decoders.Create(DecoderKind.ApproxIfer));
        var error = Assert.Throws<ArgumentNullException>(() => Decoders.Create(DecoderKind.Exact, classifier));
        Assert.Contains("needs inverse", error.Message);
    }

    /// <summary>Encodes the group with the mean encoder and serves every member and the parity with the classifier.</summary>
    internal static DecodeRequest MeanCodedRequest(ToyInvertibleClassifier classifier, float[] members, int k, int missing)
    {
        var parity = new float[Length];
        MeanEncoder.Encode(members, k, Length, parity);
        var data = new MemberAnswer?[k];
        for (var i = 0; i < k; i++)
        {
            data[i] = i == missing ? null : Serve(classifier, members.AsSpan(i * Length, Length).ToArray());
        }

        return new DecodeRequest(k, missing, data, Serve(classifier, parity));
    }

    private static MemberAnswer Serve(ToyInvertibleClassifier classifier, float[] input)
    {
        var outputs = classifier.RunAsync(input, 1).AsTask().GetAwaiter().GetResult();
        return new MemberAnswer(outputs[0], outputs[1]);
    }

    private static float[] Images(int count, int seed)
    {
        var random = new Random(seed);
        var images = new float[count * Length];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = (float)random.NextDouble();
        }

        return images;
    }

    private static MemberAnswer Answer(float[] logits) => new(logits, null);

    private static MemberAnswer Answer(int classes, float[]? features) => new(new float[classes], features);
}
