using System.Diagnostics;
using System.Numerics.Tensors;

namespace AsymCdc.Coding.Evaluation;

/// <summary>
/// The offline degraded-mode evaluation of ParM and ApproxIFER, applied to every decoder: groups of k
/// consecutive test images are encoded, the parity is served by the model the decoder expects, and for
/// every member of every group the evaluator pretends that member's answer is missing and reconstructs
/// it. Model calls are batched (classifier, parities and decoders alike), so the full 10k test set at
/// k = 2, 3, 4 is minutes of CPU, not hours; decode latency is measured separately on unbatched calls.
/// </summary>
/// <remarks>
/// Only full groups are decoded: the last N mod k images (a partial group in serving) count towards the
/// model's own accuracy but not towards degraded accuracy. Pure: no ONNX, no I/O; the caller supplies
/// the <see cref="IModelFunction"/>s.
/// </remarks>
public sealed class DegradedModeEvaluator
{
    private readonly IModelFunction _classifier;
    private readonly DegradedModeEvaluatorOptions _options;

    /// <param name="classifier">The deployed model: output 0 = logits, output 1 (when present) = feature map z.</param>
    public DegradedModeEvaluator(IModelFunction classifier, DegradedModeEvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (classifier.OutputLengths.Count == 0)
        {
            throw new ArgumentException($"Classifier '{classifier.Name}' declares no outputs; the evaluator needs its logits (output 0).", nameof(classifier));
        }

        _options = options ?? new DegradedModeEvaluatorOptions();
        _options.Validate();
        _classifier = classifier;
    }

    private enum ParityScheme
    {
        Mean,
        Sum,
        Berrut,
    }

    /// <param name="images">N test images of <see cref="IModelFunction.InputLength"/> floats, back to back.</param>
    /// <param name="labels">N true labels.</param>
    /// <param name="cases">The (decoder, k) cells to evaluate.</param>
    public async Task<DegradedModeReport> EvaluateAsync(
        ReadOnlyMemory<float> images,
        ReadOnlyMemory<byte> labels,
        IReadOnlyList<EvaluationCase> cases,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var count = labels.Length;
        var inputLength = _classifier.InputLength;
        if (count == 0)
        {
            throw new ArgumentException("No test queries: labels is empty.", nameof(labels));
        }

        if (images.Length != (long)count * inputLength)
        {
            throw new ArgumentException(
                $"images holds {images.Length} floats but {count} labels × {inputLength} floats per image = {(long)count * inputLength}; pass one image per label.",
                nameof(images));
        }

        foreach (var @case in cases)
        {
            ValidateCase(@case, count);
        }

        // The model's own answers on the undisturbed queries: every decoder is judged against these.
        var own = await RunBatchedAsync(_classifier, images, count, cancellationToken).ConfigureAwait(false);
        var logitsLength = _classifier.OutputLengths[0];
        var predicted = new int[count];
        var correct = 0;
        var answers = new MemberAnswer[count];
        for (var n = 0; n < count; n++)
        {
            answers[n] = Answer(own, _classifier, n);
            predicted[n] = TensorPrimitives.IndexOfMax(answers[n].Logits);
            correct += predicted[n] == labels.Span[n] ? 1 : 0;
        }

        var maxK = 1;
        foreach (var @case in cases)
        {
            maxK = Math.Max(maxK, @case.K);
        }

        var parities = new Dictionary<(ParityScheme, int, IModelFunction), MemberAnswer[]>();
        var results = new List<DecoderResult>(cases.Count);
        foreach (var @case in cases)
        {
            var scheme = SchemeOf(@case.Decoder.Kind);
            var parityModel = @case.ParityModel ?? _classifier;
            if (!parities.TryGetValue((scheme, @case.K, parityModel), out var groupParities))
            {
                groupParities = await ServeParitiesAsync(scheme, @case.K, parityModel, images, count, cancellationToken).ConfigureAwait(false);
                parities[(scheme, @case.K, parityModel)] = groupParities;
            }

            results.Add(await EvaluateCaseAsync(@case, answers, groupParities, labels, predicted, logitsLength, cancellationToken).ConfigureAwait(false));
        }

        // Timed last, when the encoder has run for every group and the JIT has long since optimised it.
        var encodeMicroseconds = MeasureMeanEncoder(images.Span, Math.Min(maxK, count), inputLength);
        return new DegradedModeReport(_classifier.Name, count, (double)correct / count, encodeMicroseconds, results);
    }

    private void ValidateCase(EvaluationCase @case, int count)
    {
        ArgumentNullException.ThrowIfNull(@case);
        ArgumentNullException.ThrowIfNull(@case.Decoder, nameof(EvaluationCase.Decoder));
        var name = Decoders.NameOf(@case.Decoder.Kind);
        if (@case.K < 1 || @case.K > count)
        {
            throw new ArgumentException($"Case {name} k = {@case.K}: k must be between 1 and the {count} test queries.", nameof(@case));
        }

        if (@case.Decoder.Kind == DecoderKind.Parm)
        {
            if (@case.ParityModel is null)
            {
                throw new ArgumentException($"Case parm k = {@case.K} has no parity model; pass ParM's f_P for k = {@case.K} (e.g. fmnist-parm-k{@case.K}).", nameof(@case));
            }

            if (@case.ParityModel.InputLength != _classifier.InputLength || @case.ParityModel.OutputLengths.Count == 0 || @case.ParityModel.OutputLengths[0] != _classifier.OutputLengths[0])
            {
                throw new ArgumentException($"Case parm k = {@case.K}: parity model '{@case.ParityModel.Name}' must take {_classifier.InputLength} floats and return {_classifier.OutputLengths[0]} logits like '{_classifier.Name}'.", nameof(@case));
            }
        }
        else if (@case.ParityModel is not null)
        {
            throw new ArgumentException($"Case {name} k = {@case.K} names parity model '{@case.ParityModel.Name}', but only ParM serves its parity with a separate model; {name} parities go to the classifier.", nameof(@case));
        }
    }

    private static ParityScheme SchemeOf(DecoderKind kind) => kind switch
    {
        DecoderKind.Parm => ParityScheme.Sum,
        DecoderKind.ApproxIfer => ParityScheme.Berrut,
        _ => ParityScheme.Mean,
    };

    // Encodes every full group of k consecutive images and serves the parities with the model the decoder expects.
    private async Task<MemberAnswer[]> ServeParitiesAsync(ParityScheme scheme, int k, IModelFunction model, ReadOnlyMemory<float> images, int count, CancellationToken cancellationToken)
    {
        var length = _classifier.InputLength;
        var groups = count / k;
        var encoded = new float[groups * length];
        for (var g = 0; g < groups; g++)
        {
            var members = images.Span.Slice(g * k * length, k * length);
            var parity = encoded.AsSpan(g * length, length);
            switch (scheme)
            {
                case ParityScheme.Mean:
                    MeanEncoder.Encode(members, k, length, parity);
                    break;
                case ParityScheme.Sum:
                    SumEncoder.Encode(members, k, length, parity);
                    break;
                default:
                    BerrutEncoder.Encode(members, k, length, parity);
                    break;
            }
        }

        var outputs = await RunBatchedAsync(model, encoded, groups, cancellationToken).ConfigureAwait(false);
        var answers = new MemberAnswer[groups];
        for (var g = 0; g < groups; g++)
        {
            answers[g] = Answer(outputs, model, g);
        }

        return answers;
    }

    private async Task<DecoderResult> EvaluateCaseAsync(
        EvaluationCase @case,
        MemberAnswer[] answers,
        MemberAnswer[] parities,
        ReadOnlyMemory<byte> labels,
        int[] predicted,
        int logitsLength,
        CancellationToken cancellationToken)
    {
        var k = @case.K;
        var requests = new DecodeRequest[parities.Length * k];
        for (var g = 0; g < parities.Length; g++)
        {
            for (var missing = 0; missing < k; missing++)
            {
                var data = new MemberAnswer?[k];
                for (var j = 0; j < k; j++)
                {
                    data[j] = j == missing ? null : answers[g * k + j];
                }

                requests[g * k + missing] = new DecodeRequest(k, missing, data, parities[g]);
            }
        }

        // Each request can cost k model items (the exact decoder inverts k z's), so chunk by MaxBatchItems / k.
        var chunk = Math.Max(1, _options.MaxBatchItems / k);
        var rightLabel = 0;
        var agree = 0;
        for (var start = 0; start < requests.Length; start += chunk)
        {
            var slice = new ArraySegment<DecodeRequest>(requests, start, Math.Min(chunk, requests.Length - start));
            var decoded = await DecodeAsync(@case.Decoder, slice, cancellationToken).ConfigureAwait(false);
            for (var r = 0; r < slice.Count; r++)
            {
                if (decoded[r] is null || decoded[r].Length != logitsLength)
                {
                    throw new InvalidOperationException($"Decoder {Decoders.NameOf(@case.Decoder.Kind)} returned {decoded[r]?.Length ?? 0} logits; expected {logitsLength}.");
                }

                var query = start + r; // requests are laid out so that request q reconstructs image q
                var answer = TensorPrimitives.IndexOfMax(decoded[r]);
                rightLabel += answer == labels.Span[query] ? 1 : 0;
                agree += answer == predicted[query] ? 1 : 0;
            }
        }

        var (median, p99) = await MeasureDecodeAsync(@case.Decoder, requests, cancellationToken).ConfigureAwait(false);
        return new DecoderResult(
            Decoders.NameOf(@case.Decoder.Kind),
            k,
            (double)rightLabel / requests.Length,
            (double)agree / requests.Length,
            median,
            p99);
    }

    private static async ValueTask<float[][]> DecodeAsync(IDecoder decoder, ArraySegment<DecodeRequest> requests, CancellationToken cancellationToken)
    {
        if (decoder is IBatchDecoder batch)
        {
            return await batch.DecodeBatchAsync(requests, cancellationToken).ConfigureAwait(false);
        }

        var results = new float[requests.Count][];
        for (var r = 0; r < requests.Count; r++)
        {
            results[r] = await decoder.DecodeAsync(requests[r], cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    // Latency of a single reconstruction as a decoder grain would see it: unbatched calls, spread over the test set.
    private async Task<(double Median, double P99)> MeasureDecodeAsync(IDecoder decoder, DecodeRequest[] requests, CancellationToken cancellationToken)
    {
        var samples = Math.Min(_options.DecodeTimingSamples, requests.Length);
        var milliseconds = new double[samples];
        for (var s = 0; s < samples; s++)
        {
            var request = requests[(int)((long)s * requests.Length / samples)];
            var started = Stopwatch.GetTimestamp();
            await decoder.DecodeAsync(request, cancellationToken).ConfigureAwait(false);
            milliseconds[s] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return (Percentile(milliseconds, 0.50), Percentile(milliseconds, 0.99));
    }

    private double MeasureMeanEncoder(ReadOnlySpan<float> images, int k, int length)
    {
        var groups = images.Length / (k * length);
        var parity = new float[length];
        var microseconds = new double[_options.EncodeTimingSamples];
        for (var s = 0; s < microseconds.Length; s++)
        {
            MeanEncoder.Encode(images[..(k * length)], k, length, parity); // warm-up
        }

        for (var s = 0; s < microseconds.Length; s++)
        {
            var members = images.Slice(s % groups * k * length, k * length);
            var started = Stopwatch.GetTimestamp();
            MeanEncoder.Encode(members, k, length, parity);
            // Raw timestamps: a TimeSpan's 100 ns ticks are too coarse for a sub-microsecond encode.
            microseconds[s] = (Stopwatch.GetTimestamp() - started) * 1e6 / Stopwatch.Frequency;
        }

        return Percentile(microseconds, 0.50);
    }

    /// <summary>Nearest-rank percentile.</summary>
    internal static double Percentile(double[] values, double quantile)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return NearestRank.Percentile(sorted, quantile);
    }

    private async Task<float[][]> RunBatchedAsync(IModelFunction model, ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken)
    {
        var outputs = new float[model.OutputLengths.Count][];
        for (var o = 0; o < outputs.Length; o++)
        {
            outputs[o] = new float[count * model.OutputLengths[o]];
        }

        for (var start = 0; start < count; start += _options.MaxBatchItems)
        {
            var items = Math.Min(_options.MaxBatchItems, count - start);
            var batch = await model.RunAsync(inputs.Slice(start * model.InputLength, items * model.InputLength), items, cancellationToken).ConfigureAwait(false);
            if (batch is null || batch.Length != outputs.Length)
            {
                throw new InvalidOperationException($"Model '{model.Name}' returned {batch?.Length ?? 0} outputs; it declares {outputs.Length}.");
            }

            for (var o = 0; o < outputs.Length; o++)
            {
                var length = model.OutputLengths[o];
                if (batch[o] is null || batch[o].Length != items * length)
                {
                    throw new InvalidOperationException($"Model '{model.Name}' output {o} has {batch[o]?.Length ?? 0} floats for {items} items; expected {items * length}.");
                }

                batch[o].CopyTo(outputs[o], start * length);
            }
        }

        return outputs;
    }

    // Output 0 is the logits; output 1, where the model has one, is the invertible feature map z.
    private static MemberAnswer Answer(float[][] outputs, IModelFunction model, int item)
    {
        var logitsLength = model.OutputLengths[0];
        var logits = outputs[0].AsSpan(item * logitsLength, logitsLength).ToArray();
        float[]? features = null;
        if (outputs.Length > 1)
        {
            var featureLength = model.OutputLengths[1];
            features = outputs[1].AsSpan(item * featureLength, featureLength).ToArray();
        }

        return new MemberAnswer(logits, features);
    }
}
