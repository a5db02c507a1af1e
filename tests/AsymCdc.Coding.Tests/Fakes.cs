using System.Numerics.Tensors;

namespace AsymCdc.Coding.Tests;

/// <summary>
/// Stand-in models for the pure-logic tests. They are real functions (not canned answers), small
/// enough to compute the expected result independently, and they record each call so a test can
/// check batching.
/// </summary>
internal abstract class RecordingModel : IModelFunction
{
    private readonly List<int> _calls = [];

    protected RecordingModel(string name, int inputLength, params int[] outputLengths)
    {
        Name = name;
        InputLength = inputLength;
        OutputLengths = outputLengths;
    }

    public string Name { get; }

    public int InputLength { get; }

    public IReadOnlyList<int> OutputLengths { get; }

    /// <summary>Item count of every call, in order.</summary>
    public IReadOnlyList<int> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    public List<float[]> Inputs { get; } = [];

    public ValueTask<float[][]> RunAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default)
    {
        Assert.Equal(count * InputLength, inputs.Length);
        lock (_calls)
        {
            _calls.Add(count);
            Inputs.Add(inputs.ToArray());
        }

        var outputs = new float[OutputLengths.Count][];
        for (var o = 0; o < outputs.Length; o++)
        {
            outputs[o] = new float[count * OutputLengths[o]];
        }

        for (var n = 0; n < count; n++)
        {
            var item = inputs.Span.Slice(n * InputLength, InputLength);
            for (var o = 0; o < outputs.Length; o++)
            {
                Compute(o, item, outputs[o].AsSpan(n * OutputLengths[o], OutputLengths[o]));
            }
        }

        return ValueTask.FromResult(outputs);
    }

    protected abstract void Compute(int output, ReadOnlySpan<float> input, Span<float> destination);
}

/// <summary>
/// A toy invertible classifier in the shape of the INN: z = 2·X + 1 elementwise (invertible), logits =
/// tanh(P·X) with a fixed pseudo-random P (non-linear, so only an exact reconstruction of X reproduces them).
/// </summary>
internal sealed class ToyInvertibleClassifier : RecordingModel
{
    private readonly float[] _projection;

    public ToyInvertibleClassifier(int inputLength, int classes = 10, bool linear = false, int seed = 7)
        : base("toy-inn", inputLength, classes, inputLength)
    {
        Classes = classes;
        Linear = linear;
        var random = new Random(seed);
        _projection = new float[classes * inputLength];
        for (var i = 0; i < _projection.Length; i++)
        {
            _projection[i] = (float)(random.NextDouble() * 2 - 1);
        }
    }

    public int Classes { get; }

    public bool Linear { get; }

    public float[] Logits(ReadOnlySpan<float> x)
    {
        var logits = new float[Classes];
        Compute(0, x, logits);
        return logits;
    }

    public float[] Features(ReadOnlySpan<float> x)
    {
        var z = new float[InputLength];
        Compute(1, x, z);
        return z;
    }

    protected override void Compute(int output, ReadOnlySpan<float> input, Span<float> destination)
    {
        if (output == 1)
        {
            TensorPrimitives.Multiply(input, 2f, destination);
            TensorPrimitives.Add(destination, 1f, destination);
            return;
        }

        for (var c = 0; c < Classes; c++)
        {
            var dot = TensorPrimitives.Dot(_projection.AsSpan(c * InputLength, InputLength), input);
            destination[c] = Linear ? dot : MathF.Tanh(dot);
        }
    }
}

/// <summary>The inverse of <see cref="ToyInvertibleClassifier"/>'s feature map: X = (z − 1)/2.</summary>
internal sealed class ToyInverse(int length) : RecordingModel("toy-inn-inverse", length, length)
{
    protected override void Compute(int output, ReadOnlySpan<float> input, Span<float> destination)
    {
        TensorPrimitives.Subtract(input, 1f, destination);
        TensorPrimitives.Multiply(destination, 0.5f, destination);
    }
}

/// <summary>A "compact model" that returns the first <c>classes</c> floats of its stacked input, so a test
/// can see exactly what was stacked where.</summary>
internal sealed class EchoCompact(int k, int featureLength, int classes = 10)
    : RecordingModel($"toy-compact-k{k}", k * featureLength, classes)
{
    protected override void Compute(int output, ReadOnlySpan<float> input, Span<float> destination)
        => input[..destination.Length].CopyTo(destination);
}

/// <summary>Any linear model y = f(x); used as ParM's parity model when the classifier is linear (then f(ΣX) = Σf(X)).</summary>
internal sealed class LinearParityModel(ToyInvertibleClassifier classifier)
    : RecordingModel("toy-parm", classifier.InputLength, classifier.Classes)
{
    protected override void Compute(int output, ReadOnlySpan<float> input, Span<float> destination)
        => classifier.Logits(input).CopyTo(destination);
}
