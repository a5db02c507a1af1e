using AsymCdc.Coding;

namespace AsymCdc.Inference.Tests;

/// <summary>The coding layer's decoders over the real ONNX graphs: what a decoder grain will run.</summary>
[Collection(RepositoryCollection.Name)]
public sealed class DecoderIntegrationTests(RepositoryFixture fixture)
{
    private const int Length = 784;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ExactDecoder_rebuilds_each_straggler_as_the_model_would_have_answered(int k)
    {
        const int groups = 24;
        var classifier = fixture.Repository.Get(ModelNames.Classifier);
        var decoder = new ExactDecoder(classifier, fixture.Repository.Get(ModelNames.Inverse));
        var data = TestModels.Images.Slice(5000, groups * k);
        var parity = new float[groups * Length];
        for (var g = 0; g < groups; g++)
        {
            MeanEncoder.Encode(data.Span.Slice(g * k * Length, k * Length), k, Length, parity.AsSpan(g * Length, Length));
        }

        var own = await classifier.RunAsync(data, groups * k);
        var parityOut = await classifier.RunAsync(parity, groups);

        var requests = new List<DecodeRequest>();
        for (var g = 0; g < groups; g++)
        {
            var missing = g % k;
            var members = new MemberAnswer?[k];
            for (var j = 0; j < k; j++)
            {
                members[j] = j == missing ? null : Answer(own, (g * k) + j);
            }

            requests.Add(new DecodeRequest(k, missing, members, Answer(parityOut, g)));
        }

        var rebuilt = await decoder.DecodeBatchAsync(requests);

        var agree = 0;
        for (var g = 0; g < groups; g++)
        {
            var q = (g * k) + (g % k);
            if (TestModels.ArgMax(rebuilt[g]) == TestModels.ArgMax(own[0].AsSpan(q * 10, 10)))
            {
                agree++;
            }
        }

        Assert.True(agree >= groups - 1, $"k={k}: the exact decoder agreed with the model on {agree} of {groups} stragglers");
    }

    private static MemberAnswer Answer(float[][] outputs, int item) =>
        new(outputs[0].AsSpan(item * 10, 10).ToArray(), outputs[1].AsSpan(item * Length, Length).ToArray());
}
