using AsymCdc.Abstractions;

namespace AsymCdc.Grains;

/// <summary>Checks a request before it costs anything: shape, values, model and mode. Every refusal names the
/// problem and what to send instead.</summary>
public static class RequestValidator
{
    /// <summary>Model names a request may carry: the product name and the deployed classifier's repository name.</summary>
    public static readonly IReadOnlyList<string> KnownModels = [PredictionRequest.DefaultModel, ServingModels.Classifier];

    public static void Validate(PredictionRequest? request)
    {
        if (request is null)
        {
            throw Invalid("the request is null; send a PredictionRequest with 784 pixels");
        }

        if (request.Input is null)
        {
            throw Invalid($"the request has no input; send {PredictionRequest.InputLength} float32 pixels (a 28x28 image, row-major) in [0, 1]");
        }

        if (request.Input.Length != PredictionRequest.InputLength)
        {
            throw Invalid($"the input has {request.Input.Length} floats; expected {PredictionRequest.InputLength} (a 28x28 image, row-major, pixels in [0, 1])");
        }

        var input = request.Input;
        for (var i = 0; i < input.Length; i++)
        {
            var v = input[i];
            if (!float.IsFinite(v))
            {
                throw Invalid($"input[{i}] is {v}; every pixel must be a finite number in [0, 1]");
            }

            if (v is < 0f or > 1f)
            {
                throw Invalid($"input[{i}] = {v} is outside [0, 1]; send raw pixels scaled to [0, 1] (divide bytes by 255)");
            }
        }

        var known = false;
        foreach (var name in KnownModels)
        {
            known |= string.Equals(name, request.Model, StringComparison.Ordinal);
        }

        if (!known)
        {
            throw new PredictionException(PredictionErrorCode.UnknownModel,
                $"unknown model '{request.Model}'; this cluster serves: {string.Join(", ", KnownModels)}");
        }

        if (request.Mode is { } mode && !Enum.IsDefined(mode))
        {
            throw new PredictionException(PredictionErrorCode.UnknownMode,
                $"unknown serving mode {(int)mode}; expected one of: {string.Join(", ", ServingModes.All.Select(m => m.ToName()))}");
        }

        if (request.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw Invalid($"the timeout {timeout} is not positive; leave it out for the cluster's default or give a positive time");
        }
    }

    private static PredictionException Invalid(string message) => new(PredictionErrorCode.InvalidInput, message);
}
